package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const marker = "s3cr3t-MARKER-42"

func TestValueNeverPrints(t *testing.T) {
	v := New(marker)
	type holder struct {
		inner Value
		Outer Value
	}
	h := holder{inner: v, Outer: v}
	var out []string
	for _, f := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(f, v), fmt.Sprintf(f, h), fmt.Sprintf(f, &h))
	}
	j, _ := json.Marshal(h)
	out = append(out, string(j))
	y, _ := yaml.Marshal(map[string]any{"v": v})
	out = append(out, string(y))
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v, "h", h)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v, "h", h)
	out = append(out, buf.String())
	for _, s := range out {
		if strings.Contains(s, marker) {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if v.Reveal() != marker {
		t.Fatalf("Reveal = %q", v.Reveal())
	}
	if New("").String() != "" || !New("").IsZero() {
		t.Fatal("an empty secret must read as unset")
	}
}

func TestValueDecodes(t *testing.T) {
	var c struct {
		Password Value `json:"password" yaml:"password"`
	}
	if err := yaml.Unmarshal([]byte("password: "+marker+"\n"), &c); err != nil || c.Password.Reveal() != marker {
		t.Fatalf("yaml: %v %q", err, c.Password.Reveal())
	}
	if err := json.Unmarshal([]byte(`{"password":"`+marker+`"}`), &c); err != nil || c.Password.Reveal() != marker {
		t.Fatalf("json: %v", err)
	}
	err := json.Unmarshal([]byte(`{"password":{"a":"`+marker+`"}}`), &c)
	if err == nil || strings.Contains(err.Error(), marker) {
		t.Fatalf("want an error without the input, got %v", err)
	}
	var v Value
	if err := v.Set(marker); err != nil || v.Reveal() != marker || v.Type() != "secret" {
		t.Fatal("Set")
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"postgres://crm:" + marker + "@db:5432/crm?sslmode=disable": "postgres://crm:[redacted]@db:5432/crm?sslmode=disable",
		"postgres://crm@db/crm?password=" + marker:                  "postgres://crm@db/crm?password=[redacted]",
		"nats://agent:" + marker + "@centre:4222":                   "nats://agent:[redacted]@centre:4222",
		"nats://" + marker + "@centre:4222":                         "nats://[redacted]@centre:4222",
		"nats://a:" + marker + "@x:1,nats://b:" + marker + "@y:2":   "nats://a:[redacted]@x:1,nats://b:[redacted]@y:2",
		"http://127.0.0.1:9093":                                     "http://127.0.0.1:9093",
		"not a url with " + marker + "@host":                        Redacted,
		"nats:/u:" + marker + "@h":                                  Redacted,
		"https://hooks.example/x?token=" + marker + "&channel=noc":  "https://hooks.example/x?channel=noc&token=[redacted]",
	}
	for in, want := range cases {
		got := RedactURL(in)
		if got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		u, err := ParseURL(in)
		if err != nil {
			continue
		}
		for _, s := range []string{u.String(), fmt.Sprint(u), fmt.Sprintf("%#v", u)} {
			if strings.Contains(s, marker) {
				t.Errorf("URL leaked: %s", s)
			}
		}
		if u.Reveal() != strings.TrimSpace(in) {
			t.Errorf("Reveal changed the URL")
		}
	}
	if _, err := ParseURL("postgres://u:" + marker + "@[::1"); err == nil || strings.Contains(err.Error(), marker) {
		t.Fatalf("want an error without the input, got %v", err)
	}
}

func TestScrub(t *testing.T) {
	got := Scrub("dial failed for user:"+marker+"@host", New(marker))
	if strings.Contains(got, marker) {
		t.Fatal(got)
	}
}

// A URL flag never refuses its value: pflag would repeat the refused text,
// password included, in "invalid argument …". The text is kept and prints
// redacted; whoever dials it reports the malformed URL.
func TestURLSetNeverFailsNorLeaks(t *testing.T) {
	for _, in := range []string{"nats://u:" + marker + "%zz@h:4222", "nats://[::1]:4222,nats://u:" + marker + "@h:1", "postgres://u:" + marker + "@[::1"} {
		var u URL
		if err := u.Set(in); err != nil {
			t.Fatalf("Set(%q) = %v", in, err)
		}
		if u.Reveal() != in {
			t.Errorf("Reveal changed %q", in)
		}
		for _, s := range []string{u.String(), fmt.Sprint(u), fmt.Sprintf("%#v", u)} {
			if strings.Contains(s, marker) {
				t.Errorf("URL leaked: %s", s)
			}
		}
	}
}

func TestURLCredentials(t *testing.T) {
	u := MustURL("https://user:pw-1@h/x?token=tok-2&a=b&key=k-3")
	var got []string
	for _, v := range u.Credentials() {
		got = append(got, v.Reveal())
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"k-3", "pw-1", "tok-2"}) {
		t.Fatalf("credentials %v", got)
	}
	if s := Scrub("echo pw-1 tok-2 k-3 b", u.Credentials()...); s != "echo [redacted] [redacted] [redacted] b" {
		t.Fatalf("scrubbed %q", s)
	}
}
