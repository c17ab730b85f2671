package secret

import (
	"strings"
	"testing"
)

func TestCheckHTTP(t *testing.T) {
	if err := MustURL("https://user:tok-5521@hooks.example/x").CheckHTTP("e.g. …"); err != nil {
		t.Errorf("a good URL: %v", err)
	}
	if err := (URL{}).CheckHTTP("e.g. https://hooks.example/crmwatch"); err == nil || err.Error() != "url: required (e.g. https://hooks.example/crmwatch)" {
		t.Errorf("missing: %v", err)
	}
	err := MustURL("ftp://user:tok-5521@hooks.example/x").CheckHTTP("")
	if err == nil || !strings.Contains(err.Error(), "want an http:// or https:// URL") || strings.Contains(err.Error(), "tok-5521") {
		t.Errorf("ftp with a token: %v", err)
	}
}
