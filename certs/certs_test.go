package certs

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAutoCreatesAndReuses(t *testing.T) {
	dir := t.TempDir()
	p, err := Auto(dir, []string{"crm-centre.example"})
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := os.ReadFile(p.CAFile)
	srv1, _ := os.ReadFile(p.CertFile)
	if fi, err := os.Stat(filepath.Join(dir, CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("CA key: %v %v, want mode 0600", fi.Mode(), err)
	}
	cert, err := readCert(p.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"localhost", "127.0.0.1", "crm-centre.example"} {
		if cert.VerifyHostname(n) != nil {
			t.Errorf("server certificate does not name %s", n)
		}
	}
	// A restart reuses both.
	if _, err := Auto(dir, []string{"crm-centre.example"}); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(p.CAFile)
	srv2, _ := os.ReadFile(p.CertFile)
	if !bytes.Equal(ca1, ca2) || !bytes.Equal(srv1, srv2) {
		t.Fatal("restart replaced the CA or the server certificate")
	}
	// A new host name re-issues the server certificate from the same CA.
	if _, err := Auto(dir, []string{"other.example"}); err != nil {
		t.Fatal(err)
	}
	ca3, _ := os.ReadFile(p.CAFile)
	srv3, _ := os.ReadFile(p.CertFile)
	if !bytes.Equal(ca1, ca3) || bytes.Equal(srv1, srv3) {
		t.Fatal("a new name must keep the CA and re-issue the server certificate")
	}
}

// serve runs an HTTPS server with the pair and returns its URL.
func serve(t *testing.T, p Pair) string {
	cfg, err := ServerConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	ts.TLS = cfg
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.URL
}

func get(url string, o ClientOptions) error {
	cfg, err := ClientConfig(o)
	if err != nil {
		return err
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err != nil {
		return Explain(err, o.CAFile)
	}
	resp.Body.Close()
	return nil
}

func TestRightCAWorksWrongCARefused(t *testing.T) {
	good, err := Auto(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Auto(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, good)
	if err := get(url, ClientOptions{CAFile: good.CAFile}); err != nil {
		t.Fatalf("right CA: %v", err)
	}
	t.Setenv(EnvCA, good.CAFile)
	if err := get(url, ClientOptions{}); err != nil {
		t.Fatalf("right CA from %s: %v", EnvCA, err)
	}
	err = get(url, ClientOptions{CAFile: other.CAFile})
	if err == nil || !strings.Contains(err.Error(), "not signed by the CA in "+other.CAFile) || !strings.Contains(err.Error(), "--ca FILE") {
		t.Fatalf("wrong CA: %v", err)
	}
	if err := get(url, ClientOptions{InsecureSkipVerify: true}); err != nil {
		t.Fatalf("insecure: %v", err)
	}
}

func TestUserMistakes(t *testing.T) {
	dir := t.TempDir()
	if _, err := ClientConfig(ClientOptions{CAFile: filepath.Join(dir, "nope.pem")}); err == nil || !strings.Contains(err.Error(), "--ca") {
		t.Errorf("missing CA file: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := ClientConfig(ClientOptions{CAFile: junk}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk CA file: %v", err)
	}
	if _, err := ServerConfig(Pair{CertFile: junk}); err == nil || !strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("no key: %v", err)
	}
	if cfg, err := ClientConfig(ClientOptions{}); cfg != nil || err != nil {
		t.Errorf("nothing asked: %v %v", cfg, err)
	}
}

// TestKeyNeverInErrors: a key file that does not load is named, its
// contents never repeated.
func TestKeyNeverInErrors(t *testing.T) {
	const marker = "SECRETKEYMARKER-7f3a"
	dir := t.TempDir()
	p, err := Auto(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"garbage":  marker,
		"pem":      "-----BEGIN PRIVATE KEY-----\n" + marker + "\n-----END PRIVATE KEY-----\n",
		"wrongpem": "-----BEGIN EC PRIVATE KEY-----\nTUFSS0VS" + marker + "\n-----END EC PRIVATE KEY-----\n",
	} {
		key := filepath.Join(dir, name+".key")
		os.WriteFile(key, []byte(content), 0o600)
		_, err := ServerConfig(Pair{CertFile: p.CertFile, KeyFile: key})
		if err == nil || strings.Contains(err.Error(), marker) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A CA key that does not load stops Auto without quoting it.
	os.WriteFile(filepath.Join(dir, CAKeyFile), []byte(marker), 0o600)
	if _, err := Auto(dir, nil); err == nil || strings.Contains(err.Error(), marker) {
		t.Errorf("broken CA key: %v", err)
	}
}

// TestAutoRenews: a server certificate close to its end, or deleted, is
// issued again from the same CA at the next start.
func TestAutoRenews(t *testing.T) {
	dir := t.TempDir()
	p, err := Auto(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca1, _ := os.ReadFile(p.CAFile)
	ca, caKey, err := loadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := issueServer(p, ca, caKey, serverNames(nil), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := Auto(dir, nil); err != nil {
		t.Fatal(err)
	}
	cert, _ := readCert(p.CertFile)
	if time.Until(cert.NotAfter) < ServerLifetime-24*time.Hour {
		t.Fatalf("a certificate with 10 days left was kept (ends %s)", cert.NotAfter)
	}
	os.Remove(p.CertFile)
	if _, err := Auto(dir, nil); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(p.CAFile)
	if _, err := readCert(p.CertFile); err != nil || !bytes.Equal(ca1, ca2) {
		t.Fatalf("after deleting server.pem: %v, CA kept %v", err, bytes.Equal(ca1, ca2))
	}
}
