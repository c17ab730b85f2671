// Package email is the e-mail notification receiver: one message per
// notification over SMTP with STARTTLS (required unless turned off) and
// authentication, with a plain-text and an HTML body carrying the alert's
// knowledge and a console link.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"crmwatch/notify"
	"crmwatch/secret"
)

// Config of an e-mail receiver (the email section of a receiver).
type Config struct {
	// SMTP is the server's host:port (submission, usually port 587).
	SMTP string `yaml:"smtp"`
	// From and To are addresses (To: at least one).
	From string   `yaml:"from"`
	To   []string `yaml:"to"`
	// Username and Password authenticate (AUTH PLAIN, only over TLS).
	Username string       `yaml:"username"`
	Password secret.Value `yaml:"password"`
	// StartTLS: "required" (default: refuse to send without it) or
	// "off" (a relay on localhost only).
	StartTLS string `yaml:"starttls"`
	// CAFile holds the PEM certificates that sign the server's
	// certificate (default: the system's).
	CAFile string `yaml:"ca_file"`
	// Timeout bounds one message's whole SMTP exchange (default 30s).
	Timeout time.Duration `yaml:"timeout"`
}

// Defaults (the one source of them).
const DefaultTimeout = 30 * time.Second

// WithDefaults fills what is not set.
func (c Config) WithDefaults() Config {
	if c.StartTLS == "" {
		c.StartTLS = "required"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem at once; the password is never repeated.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.SMTP); err != nil {
		errs = append(errs, fmt.Errorf("smtp %q: want host:port, e.g. mail.example:587", c.SMTP))
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, fmt.Errorf("from %q: not an e-mail address", c.From))
	}
	if len(c.To) == 0 {
		errs = append(errs, errors.New("to: list at least one address"))
	}
	for _, t := range c.To {
		if _, err := mail.ParseAddress(t); err != nil {
			errs = append(errs, fmt.Errorf("to %q: not an e-mail address", t))
		}
	}
	if c.StartTLS != "required" && c.StartTLS != "off" {
		errs = append(errs, fmt.Errorf("starttls %q: want required or off", c.StartTLS))
	}
	if c.StartTLS == "off" && !c.Password.IsZero() {
		errs = append(errs, errors.New("password: needs starttls: required (a password is never sent in the clear)"))
	}
	if !c.Password.IsZero() && c.Username == "" {
		errs = append(errs, errors.New("password: set username too"))
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			errs = append(errs, fmt.Errorf("ca_file: %w", err))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	return errors.Join(errs...)
}

// Receiver sends e-mail through one SMTP server.
type Receiver struct {
	name string
	cfg  Config
}

// New builds a receiver from a validated config.
func New(name string, c Config) *Receiver { return &Receiver{name: name, cfg: c.WithDefaults()} }

// Name implements notify.Receiver.
func (r *Receiver) Name() string { return r.name }

// Kind implements notify.Receiver.
func (r *Receiver) Kind() string { return "email" }

// Notify implements notify.Receiver: one message per notification. SMTP
// 4xx replies and network errors may pass (retry); 5xx do not.
func (r *Receiver) Notify(ctx context.Context, ns []notify.Notification) (bool, error) {
	for _, n := range ns {
		msg, err := Message(r.cfg.From, r.cfg.To, n, time.Now())
		if err != nil {
			return false, fmt.Errorf("email %s: %w", r.name, err)
		}
		if retry, err := r.send(ctx, msg); err != nil {
			return retry, fmt.Errorf("email %s: %s: %s", r.name, r.cfg.SMTP, secret.Scrub(err.Error(), r.cfg.Password))
		}
	}
	return false, nil
}

func (r *Receiver) send(ctx context.Context, msg []byte) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", r.cfg.SMTP)
	if err != nil {
		return true, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(r.cfg.SMTP)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return retryable(err), err
	}
	defer c.Close()
	if r.cfg.StartTLS == "required" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return false, errors.New("the server does not offer STARTTLS (required; set starttls: off only for a relay on localhost)")
		}
		tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if r.cfg.CAFile != "" {
			pem, err := os.ReadFile(r.cfg.CAFile)
			if err != nil {
				return false, fmt.Errorf("ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			tc.RootCAs.AppendCertsFromPEM(pem)
		}
		if err := c.StartTLS(tc); err != nil {
			return retryable(err), fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if r.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", r.cfg.Username, r.cfg.Password.Reveal(), host)); err != nil {
			return retryable(err), fmt.Errorf("AUTH: %w", err)
		}
	}
	from, _ := mail.ParseAddress(r.cfg.From)
	if err := c.Mail(from.Address); err != nil {
		return retryable(err), err
	}
	for _, t := range r.cfg.To {
		a, _ := mail.ParseAddress(t)
		if err := c.Rcpt(a.Address); err != nil {
			return retryable(err), err
		}
	}
	w, err := c.Data()
	if err != nil {
		return retryable(err), err
	}
	if _, err := w.Write(msg); err != nil {
		return true, err
	}
	if err := w.Close(); err != nil {
		return retryable(err), err
	}
	return false, c.Quit()
}

// retryable: an SMTP 5xx reply is final, anything else may pass.
func retryable(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code < 500
	}
	return true
}

var htmlBody = template.Must(template.New("html").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Status}}: {{.Alert.Summary}}</h2>
<table>
<tr><th align="left">Severity</th><td>{{.Alert.Severity}}</td></tr>
<tr><th align="left">Rule</th><td>{{.Alert.Rule}}</td></tr>
<tr><th align="left">State</th><td>{{.Alert.State}} ({{.Kind}})</td></tr>
<tr><th align="left">Hosts</th><td>{{range $i, $h := .Alert.Hosts}}{{if $i}}, {{end}}{{$h}}{{end}}</td></tr>
<tr><th align="left">Organizations</th><td>{{range $i, $o := .Orgs}}{{if $i}}, {{end}}{{$o}}{{end}}</td></tr>
<tr><th align="left">Repeats</th><td>{{.Alert.RepeatCount}}</td></tr>
<tr><th align="left">Alert</th><td>{{.Alert.ID}}</td></tr>
</table>
{{with .Alert.Knowledge.Cause}}<h3>Cause</h3><p>{{.}}</p>{{end}}
{{with .Alert.Knowledge.Resolution}}<h3>Resolution</h3><p>{{.}}</p>{{end}}
{{with .ConsoleURL}}<p><a href="{{.}}">Open the alert in crmwatch</a></p>{{end}}
</body></html>
`))

// Message renders the RFC 5322 message: multipart/alternative with a
// plain-text and an HTML part; its Message-ID is the notification id, so a
// message sent again after a takeover is recognisable.
func Message(from string, to []string, n notify.Notification, now time.Time) ([]byte, error) {
	a := n.Alert
	orgs := make([]string, len(a.Organizations))
	for i, o := range a.Organizations {
		orgs[i] = o
		if i < len(n.OrganizationNames) && n.OrganizationNames[i] != "" {
			orgs[i] = n.OrganizationNames[i] + " (" + o + ")"
		}
	}
	status := strings.ToUpper(string(n.Status))
	var plain bytes.Buffer
	fmt.Fprintf(&plain, "%s: %s\n\nSeverity:      %s\nRule:          %s\nState:         %s (%s)\nHosts:         %s\nOrganizations: %s\nRepeats:       %d\nAlert:         %s\n",
		status, a.Summary, a.Severity, a.Rule, a.State, n.Kind, strings.Join(a.Hosts, ", "), strings.Join(orgs, ", "), a.RepeatCount, a.ID)
	if a.Knowledge.Cause != "" {
		fmt.Fprintf(&plain, "\nCause:\n%s\n", a.Knowledge.Cause)
	}
	if a.Knowledge.Resolution != "" {
		fmt.Fprintf(&plain, "\nResolution:\n%s\n", a.Knowledge.Resolution)
	}
	if n.ConsoleURL != "" {
		fmt.Fprintf(&plain, "\nOpen the alert: %s\n", n.ConsoleURL)
	}
	var html bytes.Buffer
	err := htmlBody.Execute(&html, struct {
		notify.Notification
		Status string
		Orgs   []string
	}{n, status, orgs})
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	boundary := "crmwatch-" + hex.EncodeToString(b[:])
	var m bytes.Buffer
	subject := fmt.Sprintf("[crmwatch] %s %s %s: %s", status, a.Severity, a.Rule, a.Summary)
	fmt.Fprintf(&m, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s.%s@crmwatch>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=%q\r\n\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", subject), now.Format(time.RFC1123Z), n.ID, strings.ToLower(string(n.Status)), boundary)
	for _, part := range []struct {
		typ  string
		body []byte
	}{{"text/plain", plain.Bytes()}, {"text/html", html.Bytes()}} {
		fmt.Fprintf(&m, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.typ)
		qp := quotedprintable.NewWriter(&m)
		if _, err := qp.Write(part.body); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
		m.WriteString("\r\n")
	}
	fmt.Fprintf(&m, "--%s--\r\n", boundary)
	return m.Bytes(), nil
}

// Attachment is a file mailed with a document.
type Attachment struct {
	Name        string // file name shown to the reader
	ContentType string // e.g. text/html; charset=utf-8
	Data        []byte
}

// SendDocument mails a document that is not an alert — a scheduled
// capacity report — to the receiver's recipients through the same SMTP
// server, TLS and authentication as its notifications: a plain-text body
// and the files attached. retry says whether trying again may pass.
func (r *Receiver) SendDocument(ctx context.Context, subject, text string, files []Attachment, now time.Time) (retry bool, err error) {
	msg, err := documentMessage(r.cfg.From, r.cfg.To, subject, text, files, now)
	if err != nil {
		return false, fmt.Errorf("email %s: %w", r.name, err)
	}
	if retry, err := r.send(ctx, msg); err != nil {
		return retry, fmt.Errorf("email %s: %s: %s", r.name, r.cfg.SMTP, secret.Scrub(err.Error(), r.cfg.Password))
	}
	return false, nil
}

// documentMessage renders multipart/mixed: the text, then each file as a
// base64 attachment (lines of 76 characters, as RFC 2045 asks).
func documentMessage(from string, to []string, subject, text string, files []Attachment, now time.Time) ([]byte, error) {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	boundary := "crmwatch-" + id
	var m bytes.Buffer
	fmt.Fprintf(&m, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <document.%s@crmwatch>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=%q\r\n\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("utf-8", subject), now.Format(time.RFC1123Z), id, boundary)
	fmt.Fprintf(&m, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	qp := quotedprintable.NewWriter(&m)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	m.WriteString("\r\n")
	for _, f := range files {
		disp := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
		if disp == "" {
			return nil, fmt.Errorf("attachment name %q cannot be written in a header", f.Name)
		}
		fmt.Fprintf(&m, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: %s\r\n\r\n", boundary, f.ContentType, disp)
		enc := base64.StdEncoding.EncodeToString(f.Data)
		for len(enc) > 76 {
			m.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		m.WriteString(enc + "\r\n")
	}
	fmt.Fprintf(&m, "--%s--\r\n", boundary)
	return m.Bytes(), nil
}
