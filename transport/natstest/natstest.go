// Package natstest gives tests a private corner of the machine's own NATS
// server (nats://127.0.0.1:4222, or CRMWATCH_TEST_NATS): a unique prefix for
// streams and buckets, deleted when the test ends, and small stream limits.
// JetStream reserves every stream's size limit from its storage budget (75 %
// of the disk free when it started), so tests that left 1 GiB streams behind
// — a run killed before its cleanup — or that run beside each other could
// exhaust it; each test therefore also sweeps test streams left over by
// runs that ended more than StaleAfter ago.
package natstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"crmwatch/transport"
)

// DefaultURL is the NATS server the project's machines and CI provide.
const DefaultURL = "nats://127.0.0.1:4222"

// StreamMaxBytes is the per-stream limit tests use on the shared server.
const StreamMaxBytes = 64 << 20

// StaleAfter is how old another run's test streams must be to be swept.
const StaleAfter = 30 * time.Minute

// URL is the machine's NATS URL.
func URL() string {
	if v := os.Getenv("CRMWATCH_TEST_NATS"); v != "" {
		return v
	}
	return DefaultURL
}

// Prefix returns the machine's NATS URL and a fresh prefix starting with
// tag (letters and digits), whose streams and buckets are removed when t
// ends. It skips t when no NATS answers, and fails it under CI, which must
// have one.
func Prefix(t testing.TB, tag string) (natsURL, prefix string) {
	t.Helper()
	natsURL = URL()
	u, err := url.Parse(natsURL)
	if err == nil {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but no NATS answers at %s: %v (scripts/setup.sh starts one)", natsURL, err)
		}
		t.Skipf("no NATS at %s (%v); start nats-server -js to run this test", natsURL, err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix = strings.ToLower(tag) + "t" + hex.EncodeToString(b)
	nc, err := transport.Connect(transport.ConnectOptions{URLs: []string{natsURL}, WaitFirst: true})
	if err != nil {
		t.Fatalf("connect to %s: %v", natsURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	sweep(ctx, t, js, strings.ToUpper(tag)+"T")
	cancel()
	t.Cleanup(func() {
		defer nc.Close()
		names, _ := transport.NewNames(prefix)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := transport.Teardown(ctx, js, names); err != nil {
			t.Errorf("cleanup of %s streams and buckets: %v", prefix, err)
		}
	})
	return natsURL, prefix
}

// sweep deletes streams (and the streams behind key-value buckets) whose
// name starts with the tag's stream prefix and that were created more than
// StaleAfter ago: what killed test runs left behind.
func sweep(ctx context.Context, t testing.TB, js jetstream.JetStream, streamPrefix string) {
	kvPrefix := "kv_" + strings.ToLower(streamPrefix)
	lister := js.ListStreams(ctx)
	for info := range lister.Info() {
		name := info.Config.Name
		if !strings.HasPrefix(name, streamPrefix) && !strings.HasPrefix(strings.ToLower(name), kvPrefix) {
			continue
		}
		if time.Since(info.Created) < StaleAfter {
			continue
		}
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Logf("sweeping stale test stream %s: %v", name, err)
		} else {
			t.Logf("swept stale test stream %s (created %s)", name, info.Created.Format(time.RFC3339))
		}
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		t.Logf("listing streams to sweep: %v", err)
	}
}
