package transport

import (
	"net/url"
	"strings"
	"testing"

	"crmwatch/secret"
)

func TestCheckURLs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // substrings of the error; none: valid
	}{
		{"nats://a:4222,tls://b:4222", nil},
		{"nats://u:pw@a:4222", nil},
		{"", []string{"--nats: no NATS URL given"}},
		{"http://a:9470", []string{`--nats "http://a:9470": scheme http:// is not nats:// or tls://`}},
		{"a:4222", []string{`--nats "a:4222": no scheme; write nats://a:4222`}},
		{"nats://", []string{`no host`}},
		{"nats://a:1,ws://b:2", []string{`scheme ws://`}},
		{"http://u:hunter22@a,b:1", []string{`"http://u:[redacted]@a"`, `"b:1": no scheme`}},
	} {
		err := CheckURLs("--nats", secret.MustURL(c.in))
		if len(c.want) == 0 {
			if err != nil {
				t.Errorf("%q: %v", c.in, err)
			}
			continue
		}
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %v lacks %q", c.in, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%q: password in %v", c.in, err)
		}
	}
}

// FuzzCheckURLs: never a panic, and a password of one of the URLs never
// comes back in the error.
func FuzzCheckURLs(f *testing.F) {
	for _, s := range []string{"nats://a:4222", "http://u:secret99@h", "u:secret99@h:1", "nats:/u:secret99@h", "nats://[::1]:4222,nats://u:secret99@h", "%zz@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var list secret.URL
		_ = list.Set(s) // a flag value: never refused
		err := CheckURLs("--nats", list)
		if err == nil {
			return
		}
		for _, raw := range SplitURLs(s) {
			u, perr := url.Parse(strings.TrimSpace(raw))
			if perr != nil || u.User == nil {
				continue
			}
			if pw, ok := u.User.Password(); ok && len(pw) >= 6 && !strings.Contains(u.Host+u.Path+u.User.Username()+u.Scheme, pw) &&
				strings.Contains(err.Error(), pw) {
				t.Fatalf("password %q in %q", pw, err)
			}
		}
	})
}
