package secret

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedactURL: whatever the URL, a password in its user info never
// survives redaction, and redaction never panics.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"postgres://u:pw1234@h/db", "nats://tok9876@h:4222", "http://h/x?token=abcd", "nats://a:b@c,nats://d:e@f", "%zz@", "::@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactURL(s)
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.User == nil || strings.Contains(s, ",") {
			return
		}
		if pw, ok := u.User.Password(); ok && len(pw) >= 6 && !strings.Contains(u.Host+u.Path+u.User.Username()+u.Scheme, pw) && strings.Contains(out, pw) {
			t.Fatalf("password %q survived in %q", pw, out)
		}
	})
}
