package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	notifyconfig "crmwatch/notify/config"
)

// ConfigFile is the server's YAML configuration file (--config). Flags
// cover the process; the file holds what is too structured for flags:
//
//	notify:        # receivers and routes (docs/notifications.md)
//	  receivers: […]
//	  routes: […]
//	reports:
//	  capacity:    # scheduled capacity reports (docs/capacity.md)
//	    dir: /var/lib/crmwatch/reports
//	    mail: [planning]                     # e-mail receivers above
//	    every: 24h
//	    since: 720h
//	    formats: [html, csv]
type ConfigFile struct {
	Notify  notifyconfig.Section `yaml:"notify"`
	Reports Reports              `yaml:"reports"`
}

// Reports is the file's reports section.
type Reports struct {
	Capacity CapacityReports `yaml:"capacity"`
}

// ReadConfigFile reads and checks path; "" is an empty file. Every problem
// is reported at once, naming the file.
func ReadConfigFile(path string) (ConfigFile, error) {
	if path == "" {
		return ConfigFile{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ConfigFile{}, fmt.Errorf("--config: %w", err)
	}
	f, err := ParseConfigFile(data)
	if err != nil {
		return ConfigFile{}, fmt.Errorf("--config %s: %w", path, err)
	}
	return f, nil
}

// ParseConfigFile decodes strictly (an unknown key is an error with its
// line) and validates every section.
func ParseConfigFile(data []byte) (ConfigFile, error) {
	var f ConfigFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return ConfigFile{}, fmt.Errorf("parse YAML: %w", err)
	}
	var errs []error
	if err := f.Notify.Validate(); err != nil {
		errs = append(errs, err)
	}
	kinds := map[string]string{}
	for _, r := range f.Notify.Receivers {
		kinds[r.Name] = r.Kind()
	}
	if err := f.Reports.Capacity.validate(kinds); err != nil {
		errs = append(errs, fmt.Errorf("reports.capacity: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return ConfigFile{}, err
	}
	return f, nil
}
