package email

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"crmwatch/alerts"
	"crmwatch/notify"
	"crmwatch/notify/email/mailtest"
	"crmwatch/secret"
)

func startMailbox(t *testing.T, withTLS bool) *mailtest.Mailbox {
	return mailtest.Start(t, withTLS, "crm", "smtp-pass-5521")
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
	cfg := Config{SMTP: mb.Addr, From: "crmwatch <crmwatch@example.com>", To: []string{"noc@example.com"}, Username: "crm",
		Password: secret.New("smtp-pass-5521"), CAFile: mb.CAFile, Timeout: 10 * time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if retry, err := New("mail", cfg).Notify(context.Background(), []notify.Notification{sample()}); err != nil {
		t.Fatal(retry, err)
	}
	msgs, rcpts := mb.Messages(), mb.Recipients()
	if len(msgs) != 1 || len(rcpts) != 1 || rcpts[0] != "noc@example.com" {
		t.Fatalf("mailbox: %d messages to %v", len(msgs), rcpts)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(msgs[0])))
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
	cfg := Config{SMTP: plain.Addr, From: "crmwatch@example.com", To: []string{"noc@example.com"}, Username: "crm", Password: secret.New("smtp-pass-5521")}
	retry, err := New("mail", cfg).Notify(context.Background(), []notify.Notification{sample()})
	if err == nil || retry || !strings.Contains(err.Error(), "STARTTLS") || len(plain.Messages()) != 0 {
		t.Fatalf("no STARTTLS: retry %v err %v, %d messages", retry, err, len(plain.Messages()))
	}
	mb := startMailbox(t, true)
	cfg = Config{SMTP: mb.Addr, From: "crmwatch@example.com", To: []string{"noc@example.com"}, Username: "crm", Password: secret.New("wrong-pass-7"), CAFile: mb.CAFile}
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

// A document (a scheduled report) arrives as multipart/mixed with its text
// and each file attached whole, over the same STARTTLS and AUTH.
func TestSendDocument(t *testing.T) {
	mb := startMailbox(t, true)
	cfg := Config{SMTP: mb.Addr, From: "crmwatch@example.com", To: []string{"planning@example.com", "noc@example.com"}, Username: "crm",
		Password: secret.New("smtp-pass-5521"), CAFile: mb.CAFile}
	page := []byte("<!DOCTYPE html><html><body>" + strings.Repeat("<p>capacity é</p>", 400) + "</body></html>")
	retry, err := New("planning", cfg).SendDocument(context.Background(), "[crmwatch] capacity report", "Tier: Middle\n",
		[]Attachment{{Name: "capacity-20261130-0600.html", ContentType: "text/html; charset=utf-8", Data: page}, {Name: "capacity.json", ContentType: "application/json", Data: []byte(`{"version":1}`)}},
		time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(retry, err)
	}
	msgs := mb.Messages()
	if len(msgs) != 1 || len(mb.Recipients()) != 2 {
		t.Fatalf("%d messages to %v", len(msgs), mb.Recipients())
	}
	m, err := mail.ReadMessage(strings.NewReader(string(msgs[0])))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/mixed" || m.Header.Get("Subject") != "[crmwatch] capacity report" {
		t.Fatalf("headers %v", m.Header)
	}
	got := map[string][]byte{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		name := p.FileName()
		if name != "" && p.Header.Get("Content-Transfer-Encoding") == "base64" {
			if b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", "")); err != nil {
				t.Fatal(err)
			}
		}
		got[name] = b
	}
	// Text lines end in CRLF on the wire (quoted-printable, RFC 2045).
	if text := strings.ReplaceAll(string(got[""]), "\r\n", "\n"); text != "Tier: Middle\n" {
		t.Errorf("text %q", text)
	}
	if !bytes.Equal(got["capacity-20261130-0600.html"], page) || string(got["capacity.json"]) != `{"version":1}` {
		t.Errorf("attachments not whole: html %d of %d bytes, json %q", len(got["capacity-20261130-0600.html"]), len(page), got["capacity.json"])
	}
}
