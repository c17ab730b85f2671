package server

import (
	"bytes"
	"context"
	"net/mail"
	"strings"
	"testing"
	"time"

	notifyconfig "crmwatch/notify/config"
	"crmwatch/notify/email"
	"crmwatch/notify/email/mailtest"
	"crmwatch/secret"
	"crmwatch/store/sqlstore/pgtest"
	"crmwatch/transport"
)

// TestScheduledReportsOncePerFarm: two servers on one NATS and one
// PostgreSQL both schedule a capacity report every second, mailed; only the
// one holding the rollup lease builds and mails it, so the mailbox gets
// one report a second, not two.
func TestScheduledReportsOncePerFarm(t *testing.T) {
	dsn := pgtest.DSN(t)
	nats, err := transport.StartEmbedded(transport.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), SyncInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer nats.Shutdown()
	mb := mailtest.Start(t, true, "planner", "smtp-pass-4471")
	section := notifyconfig.Section{Receivers: []notifyconfig.Receiver{{Name: "planning", Email: &email.Config{SMTP: mb.Addr,
		From: "crmwatch@example.com", To: []string{"capacity@example.com"}, Username: "planner", Password: secret.New("smtp-pass-4471"), CAFile: mb.CAFile}}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 2 {
		_, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATS: secret.MustURL(nats.ClientURL()), Store: secret.MustURL(dsn),
			TickEvery: 50 * time.Millisecond, LeaseTTL: 2 * time.Second, Logger: testLogger(t), Notify: section,
			CapacityReports: CapacityReports{Mail: []string{"planning"}, Every: time.Second, Since: 24 * time.Hour, Formats: []string{"json"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stop() }()
	}
	reports := func() int {
		n := 0
		for _, raw := range mb.Messages() {
			if m, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil && strings.HasPrefix(m.Header.Get("Subject"), "[crmwatch] capacity report ") {
				n++
			}
		}
		return n
	}
	waitFor(t, func() bool { return reports() > 0 }, "the first scheduled report mailed")
	first, begin := reports(), time.Now()
	time.Sleep(8 * time.Second)
	got, ticks := reports()-first, time.Since(begin).Seconds()
	// One server: about one a second (a tick may be skipped or late under
	// load); both: about two a second.
	if float64(got) > ticks+1.5 || float64(got) < ticks/3 {
		t.Fatalf("%d reports mailed in %.1f s by two servers with a 1 s schedule: want one server's (≈ %.0f)", got, ticks, ticks)
	}
}
