package agent

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Override sets one key of the agent configuration on top of the config
// file: --set collectors.perfcounters.interval=15s is
// Override{Key: "collectors.perfcounters.interval", Value: "15s"}. Every
// collector's every setting is reachable this way, so the agent needs no
// flag of its own per collector setting; the result is decoded and
// validated by the collector like the file (every problem at once).
type Override struct {
	// Key is collectors.TYPE.SETTING[.SETTING…] (the YAML names).
	Key string
	// Value is what the YAML would hold there: a string, number, bool,
	// list or map. It replaces what the file has at Key.
	Value any
	// Flag says where the override came from in messages ("--set #2",
	// "--trace-dir"); the value is never repeated in a message.
	Flag string
}

// ParseSet parses one --set KEY=VALUE (the n-th, for messages). VALUE is
// read as YAML, so 15s, 30, true, [a, b] and {k: v} keep their type; text
// that is not valid YAML stays text.
func ParseSet(n int, s string) (Override, error) {
	flag := fmt.Sprintf("--set #%d", n)
	key, val, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return Override{}, fmt.Errorf("%s: want collectors.TYPE.SETTING=VALUE, e.g. collectors.perfcounters.interval=15s (the value is not shown)", flag)
	}
	if err := checkKey(key); err != nil {
		return Override{}, fmt.Errorf("%s %s: %w", flag, key, err)
	}
	var v any
	if err := yaml.Unmarshal([]byte(val), &v); err != nil || v == nil {
		v = val
	}
	return Override{Key: key, Value: v, Flag: flag}, nil
}

// checkKey accepts collectors.TYPE.SETTING[.SETTING…] with no empty part.
func checkKey(key string) error {
	parts := strings.Split(key, ".")
	if parts[0] != "collectors" || len(parts) < 3 {
		return errors.New("the key must be collectors.TYPE.SETTING, e.g. collectors.tracefiles.min_level")
	}
	for _, p := range parts {
		if p == "" {
			return errors.New("empty part in the key")
		}
	}
	return nil
}

// Apply sets every override on the file, in order (a later one wins), and
// reports every key it could not set at once. Decoding and validating the
// values is Configs' job, where the collector's own rules apply.
func (f *File) Apply(ovs []Override) error {
	var errs []error
	for _, o := range ovs {
		if err := f.apply(o); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", o.Flag, o.Key, err))
		}
	}
	return errors.Join(errs...)
}

func (f *File) apply(o Override) error {
	if err := checkKey(o.Key); err != nil {
		return err
	}
	parts := strings.Split(o.Key, ".")[1:]
	if f.Collectors == nil {
		f.Collectors = map[string]map[string]any{}
	}
	body := f.Collectors[parts[0]]
	if body == nil {
		body = map[string]any{}
		f.Collectors[parts[0]] = body
	}
	for i, p := range parts[1 : len(parts)-1] {
		next, ok := body[p].(map[string]any)
		if !ok {
			if body[p] != nil {
				return fmt.Errorf("collectors.%s is a value, not a section", strings.Join(parts[:i+2], "."))
			}
			next = map[string]any{}
			body[p] = next
		}
		body = next
	}
	body[parts[len(parts)-1]] = o.Value
	return nil
}
