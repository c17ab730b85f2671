package discovery

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// maxAppHostConfig bounds applicationHost.config (a few hundred KB).
const maxAppHostConfig = 16 << 20

// parseAppPools returns the names of
// configuration/system.applicationHost/applicationPools/add in IIS's
// applicationHost.config.
func parseAppPools(r io.Reader) ([]string, error) {
	var doc struct {
		Pools []struct {
			Name string `xml:"name,attr"`
		} `xml:"system.applicationHost>applicationPools>add"`
	}
	dec := xml.NewDecoder(io.LimitReader(r, maxAppHostConfig))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("applicationHost.config: %w", err)
	}
	out := make([]string, 0, len(doc.Pools))
	for _, p := range doc.Pools {
		if p.Name != "" {
			out = append(out, p.Name)
		}
	}
	return out, nil
}
