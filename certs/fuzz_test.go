package certs

import (
	"os"
	"testing"
)

// FuzzPoolFromPEM: whatever a CA file holds, loading it returns a pool or
// an error that names the file, and never panics.
func FuzzPoolFromPEM(f *testing.F) {
	p, err := Auto(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	ca, _ := os.ReadFile(p.CAFile)
	f.Add(ca)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		pool, err := PoolFromPEM("ca.pem", data)
		if (pool == nil) == (err == nil) {
			t.Fatalf("pool %v, err %v", pool, err)
		}
	})
}
