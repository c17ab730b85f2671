package transport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"crmwatch/secret"
)

func TestCredentialsRoundTrip(t *testing.T) {
	_, seed, _ := NewUserKey()
	path := filepath.Join(t.TempDir(), "a.creds")
	in := Credentials{Name: "CRMAPP01", Seed: seed, NATS: "tls://centre:4247", Roles: []string{"AppServer"}, CA: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"}
	if err := WriteCredentials(path, in); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	out, err := ReadCredentials(path)
	if err != nil || out.Name != in.Name || out.Seed.Reveal() != seed.Reveal() || out.NATS != in.NATS || out.CA != in.CA || len(out.Roles) != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	if err := WriteCredentials(path, in); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("overwrite: %v", err)
	}
	for name, text := range map[string]string{
		"no seed":     "name: A\n",
		"bad seed":    "name: A\nseed: " + seed.Reveal()[:30] + "\n",
		"http":        "name: A\nseed: " + seed.Reveal() + "\nnats: http://x:9470\n",
		"not yaml":    seed.Reveal(),
		"unknown":     "name: A\nseed: " + seed.Reveal() + "\npassword: x\n",
		"pub as seed": "name: A\nseed: UAL3S6UCMCHLJGOHOCXW7HHVV3JVPJEIFM6FZ5S5FE4R5XRA3X2VZ3IN\n",
	} {
		_, err := ParseCredentials([]byte(text))
		if err == nil || strings.Contains(err.Error(), seed.Reveal()[:20]) || !strings.Contains(err.Error(), "crmwatch agents enroll") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzParseCredentials: any file content gives credentials or an error,
// never a panic, and an error never repeats a seed-like part of the input.
func FuzzParseCredentials(f *testing.F) {
	_, seed, _ := NewUserKey()
	good, _ := Credentials{Name: "CRMAPP01", Seed: seed, NATS: "nats://h:4247", Roles: []string{"AppServer"}}.Marshal()
	f.Add(good)
	f.Add([]byte("name: A\nseed: SUAB\n"))
	f.Add([]byte("seed: [1, 2]\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCredentials(data)
		if err != nil {
			for _, field := range strings.FieldsFunc(string(data), func(r rune) bool { return r == ' ' || r == '\n' || r == ':' || r == '"' || r == '\'' }) {
				if len(field) >= 12 && strings.HasPrefix(field, "S") && strings.Contains(err.Error(), field) {
					t.Fatalf("error repeats %q: %v", field, err)
				}
			}
			return
		}
		if c.Name == "" || c.Seed.IsZero() {
			t.Fatalf("accepted without name or seed: %+v", c)
		}
		_ = secret.Redacted
	})
}
