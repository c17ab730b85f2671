package server

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	// A taken HTTP address: Start returns the listener's error, nothing keeps running.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := Options{DataDir: t.TempDir(), Listen: ln.Addr().String(), NATSListen: "127.0.0.1:0"}
	if srv, stop, err := Start(ctx, opts); err == nil || srv != nil || stop != nil {
		t.Fatalf("Start on a taken address = %v, %v; want an error", srv, err)
	}

	// A start the caller gives up on is stopped and reports why.
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	opts = Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0"}
	if _, _, err := Start(gone, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start with a cancelled context: %v; want context.Canceled", err)
	}

	// A started server serves until stop, and stop may be called twice.
	srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if srv.HTTPAddr() == "" || srv.NATSURL().IsZero() {
		t.Fatalf("started server without addresses: %q %q", srv.HTTPAddr(), srv.NATSURL())
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}
