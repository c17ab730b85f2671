package access

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestGenerateAndParseToken(t *testing.T) {
	a, err := GenerateToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateToken()
	if a.Reveal() == b.Reveal() {
		t.Fatal("two tokens are equal")
	}
	if !strings.HasPrefix(a.Reveal(), TokenPrefix) || len(a.Reveal()) != tokenLen {
		t.Fatalf("token shape %d chars", len(a.Reveal()))
	}
	p, err := ParseToken(" " + a.Reveal() + "\n")
	if err != nil || p.Reveal() != a.Reveal() || !bytes.Equal(p.Hash(), a.Hash()) || len(a.Hash()) != 32 {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "abc", TokenPrefix, "xxxx_" + a.Reveal()[5:], a.Reveal()[:tokenLen-1] + "*", a.Reveal() + "A"} {
		if _, err := ParseToken(bad); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("ParseToken(%q) err = %v, want ErrMalformedToken", bad, err)
		}
	}
}

// TestTokenNeverPrints tries every way a token could reach a log line, an
// error, a JSON document or a terminal.
func TestTokenNeverPrints(t *testing.T) {
	tok, err := GenerateToken()
	if err != nil {
		t.Fatal(err)
	}
	secret := tok.Reveal()
	type hidden struct{ tok Token }
	type shown struct {
		Token Token
		Ptr   *Token
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		out = append(out, fmt.Sprintf(verb, tok), fmt.Sprintf(verb, hidden{tok}), fmt.Sprintf(verb, shown{tok, &tok}),
			fmt.Sprintf(verb, []Token{tok}), fmt.Sprintf(verb, map[string]Token{"k": tok}))
	}
	out = append(out, tok.String(), tok.GoString(), fmt.Errorf("wrap %v: %w", tok, errors.New("x")).Error(), fmt.Sprint(tok), fmt.Sprintln(tok))
	for _, v := range []any{tok, shown{tok, &tok}, map[string]Token{"k": tok}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(h)
		l.Info("token", "tok", tok, "ptr", &tok, "struct", shown{tok, &tok}, "any", any(tok))
		l.Info(fmt.Sprint(tok), slog.Group("g", "t", tok))
	}
	out = append(out, buf.String())
	for _, s := range out {
		if strings.Contains(s, secret) || strings.Contains(s, secret[len(TokenPrefix):len(TokenPrefix)+12]) {
			t.Fatalf("secret leaked in %q", s)
		}
	}
	if !strings.Contains(buf.String(), tok.Fingerprint()) {
		t.Fatalf("logs should show the fingerprint %s: %s", tok.Fingerprint(), buf.String())
	}
}

func FuzzParseToken(f *testing.F) {
	tok, _ := GenerateToken()
	for _, s := range []string{tok.Reveal(), "", TokenPrefix, "Bearer x", TokenPrefix + strings.Repeat("A", 43), TokenPrefix + strings.Repeat("_", 43)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("error %v is not ErrMalformedToken", err)
			}
			if len(s) >= 12 && strings.Contains(err.Error(), strings.TrimSpace(s)) {
				t.Fatalf("error repeats the input: %v", err)
			}
			return
		}
		if got.Reveal() != strings.TrimSpace(s) || len(got.Reveal()) != tokenLen {
			t.Fatalf("accepted %q as %q", s, got.Reveal())
		}
		if strings.Contains(got.String(), got.Reveal()) {
			t.Fatal("String reveals the token")
		}
	})
}

func BenchmarkTokenHash(b *testing.B) {
	tok, _ := GenerateToken()
	b.ReportAllocs()
	for b.Loop() {
		if p, err := ParseToken(tok.Reveal()); err != nil || len(p.Hash()) != 32 {
			b.Fatal(err)
		}
	}
}
