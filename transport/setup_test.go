package transport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A JetStream whose storage budget is smaller than the streams' reserved
// limits refuses them; the error must say what to change, and a smaller
// MaxBytes must then work.
func TestSetupInsufficientStorageSaysWhatToDo(t *testing.T) {
	e, err := StartEmbedded(EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), MaxStore: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := Connect(ConnectOptions{URLs: []string{e.ClientURL()}, WaitFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	names, _ := NewNames("")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	err = Setup(ctx, js, names, StreamLimits{})
	if err == nil {
		t.Fatal("three 1 GiB streams fitted a 256 MiB JetStream")
	}
	for _, want := range []string{"CRMWATCH_EVENTS", "1 GiB", "free disk on the NATS server", "max_file_store", "--stream-max-bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := Setup(ctx, js, names, StreamLimits{MaxBytes: 64 << 20}); err != nil {
		t.Fatalf("64 MiB streams in a 256 MiB JetStream: %v", err)
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{-1: "no limit", 1 << 30: "1 GiB", 3 << 30: "3 GiB", 64 << 20: "64 MiB", 1000: "1000 bytes"} {
		if got := sizeText(n); got != want {
			t.Errorf("sizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
