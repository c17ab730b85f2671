package email

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/secret"
)

// mailbox is a real SMTP server (go-smtp) on loopback that offers
// STARTTLS, refuses AUTH before it, checks the password and keeps what it
// receives.
type mailbox struct {
	addr   string
	caFile string
	mu     sync.Mutex
	msgs   [][]byte
	rcpts  []string
	authed bool
}

type session struct {
	mb   *mailbox
	user string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "crm" || pass != "smtp-pass-5521" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "invalid credentials"}
		}
		s.user = user
		return nil
	}), nil
}
func (s *session) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mb.mu.Lock()
	s.mb.rcpts = append(s.mb.rcpts, to)
	s.mb.mu.Unlock()
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, b)
	s.mb.mu.Unlock()
	return err
}
func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func startMailbox(t *testing.T, withTLS bool) *mailbox {
	t.Helper()
	mb := &mailbox{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{mb: mb}, nil }))
	s.Domain = "127.0.0.1"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		cert, caFile := selfSigned(t)
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		mb.caFile = caFile
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return mb
}

func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, ca
}

func sample() notify.Notification {
	a := alerts.Alert{ID: "01HXMAIL", Rule: "crm.trace.sql-error", Severity: alerts.SeverityError, State: alerts.StateNew, RepeatCount: 3,
		Hosts: []string{"CRMAPP01"}, Organizations: []string{"guid-1"}, Summary: "SQL timeouts for Contoso <b>now</b>",
		Knowledge: alerts.Knowledge{Cause: "The SQL server is slow.", Resolution: "Check blocking on CRMSQL01."}}
	return notify.Notification{ID: "crmwatch-change-9", Kind: alerts.ChangeRaised, Status: notify.StatusFiring, Alert: a,
		OrganizationNames: []string{"Contoso"}, ConsoleURL: "https://crmwatch.example/alerts/01HXMAIL"}
}

// Delivered over STARTTLS with AUTH: a multipart/alternative message with
// a plain-text and an HTML body carrying the knowledge and the link.
func TestEmailDelivered(t *testing.T) {
	mb := startMailbox(t, true)
	cfg := Config{SMTP: mb.addr, From: "crmwatch <crmwatch@example.com>", To: []string{"noc@example.com"}, Username: "crm",
		Password: secret.New("smtp-pass-5521"), CAFile: mb.caFile, Timeout: 10 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if retry, err := New("mail", cfg).Notify(context.Background(), []notify.Notification{sample()}); err != nil {
		t.Fatal(retry, err)
	}
	if len(mb.msgs) != 1 || len(mb.rcpts) != 1 || mb.rcpts[0] != "noc@example.com" {
		t.Fatalf("mailbox: %d messages to %v", len(mb.msgs), mb.rcpts)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(mb.msgs[0])))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if subject != "[crmwatch] FIRING error crm.trace.sql-error: SQL timeouts for Contoso <b>now</b>" || m.Header.Get("Message-ID") != "<crmwatch-change-9.firing@crmwatch>" {
		t.Fatalf("headers %v (subject %q)", m.Header, subject)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("content type %s", mt)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	for _, want := range []string{"Check blocking on CRMSQL01.", "The SQL server is slow.", "https://crmwatch.example/alerts/01HXMAIL", "Contoso (guid-1)"} {
		if !strings.Contains(parts["text/plain"], want) || !strings.Contains(parts["text/html"], want) {
			t.Errorf("%q missing from a body:\n%s\n%s", want, parts["text/plain"], parts["text/html"])
		}
	}
	if !strings.Contains(parts["text/html"], "SQL timeouts for Contoso &lt;b&gt;now&lt;/b&gt;") || !strings.Contains(parts["text/html"], `<a href="https://crmwatch.example/alerts/01HXMAIL">`) {
		t.Errorf("HTML body not escaped or without link:\n%s", parts["text/html"])
	}
}

// Refusals: no STARTTLS offered is final; a wrong password (535) is final
// and never repeated; nothing listening may pass.
func TestEmailFailures(t *testing.T) {
	plain := startMailbox(t, false)
	cfg := Config{SMTP: plain.addr, From: "crmwatch@example.com", To: []string{"noc@example.com"}, Username: "crm", Password: secret.New("smtp-pass-5521")}
	retry, err := New("mail", cfg).Notify(context.Background(), []notify.Notification{sample()})
	if err == nil || retry || !strings.Contains(err.Error(), "STARTTLS") || len(plain.msgs) != 0 {
		t.Fatalf("no STARTTLS: retry %v err %v, %d messages", retry, err, len(plain.msgs))
	}
	mb := startMailbox(t, true)
	cfg = Config{SMTP: mb.addr, From: "crmwatch@example.com", To: []string{"noc@example.com"}, Username: "crm", Password: secret.New("wrong-pass-7"), CAFile: mb.caFile}
	retry, err = New("mail", cfg).Notify(context.Background(), []notify.Notification{sample()})
	if err == nil || retry || !strings.Contains(err.Error(), "535") || strings.Contains(err.Error(), "wrong-pass-7") {
		t.Fatalf("wrong password: retry %v err %v", retry, err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cfg.SMTP = addr
	if retry, err := New("mail", cfg).Notify(context.Background(), []notify.Notification{sample()}); err == nil || !retry {
		t.Fatalf("nothing listening: retry %v err %v", retry, err)
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{SMTP: "mail", From: "x", To: []string{"y"}, StartTLS: "off", Password: secret.New("pw-9911"), CAFile: "/nonexistent"}.Validate()
	for _, want := range []string{"smtp", "from", `to "y"`, "password: needs starttls", "password: set username", "ca_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "pw-9911") {
		t.Errorf("password repeated: %v", err)
	}
}
