package tracectl

import (
	"encoding/json"
	"testing"

	"crmwatch/tracing/settings"
)

// FuzzParseState: the agent's state file never crashes the agent, and a
// state it accepts never asks to restore a value that breaks CRM tracing.
func FuzzParseState(f *testing.F) {
	good, _ := json.Marshal(heldState{Setting: &settings.Setting{ID: "a"}, Found: &settings.Values{Enabled: settings.Ptr(false), Refresh: settings.Ptr(3)}})
	for _, s := range []string{string(good), `{}`, `{"found":{"categories":""}}`, `{"found":{"file_size_mb":0}}`, `nul`, `{"events":[{}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseState(data)
		if err != nil || s.Found == nil {
			return
		}
		if err := checkWritable(*s.Found); err != nil {
			t.Fatalf("accepted a state whose restore is unwritable: %v", err)
		}
	})
}

// FuzzDecodeValue: whatever a bucket key holds, decoding never panics and
// sets at most the one value its key prefix names.
func FuzzDecodeValue(f *testing.F) {
	for _, c := range []struct{ key, val string }{
		{"target.farm", `{"id":"x","target":{"scope":"farm"},"enabled":true}`},
		{"desired.CRMAPP01", `{"host":"CRMAPP01","setting":null}`},
		{"applied.CRMAPP01", `{"host":"CRMAPP01","state":"applied","events":[{"state":"expired"}]}`},
		{"audited.CRMAPP01", `2026-01-01T00:00:00Z`},
		{"applied.x", `[`},
	} {
		f.Add(c.key, []byte(c.val))
	}
	f.Fuzz(func(t *testing.T, key string, data []byte) {
		e, err := decodeValue(key, data)
		if err != nil {
			return
		}
		n := 0
		for _, set := range []bool{e.Setting != nil, e.Desired != nil, e.Applied != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("key %q decoded into %d values", key, n)
		}
	})
}
