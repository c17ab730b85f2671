package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
)

// TestIdleConnectionsCannotStarveTheAPI holds 2,000 connections that never
// send a request: an operator's request is still answered at once, and the
// server closes the idle connections after its header timeout instead of
// keeping them (and their file descriptors) forever. An oversized header
// is refused.
func TestIdleConnectionsCannotStarveTheAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, stop, err := Start(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", NATSListen: "127.0.0.1:0",
		HTTP: HTTPLimits{ReadHeaderTimeout: time.Second, IdleTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	tok := operatorToken(t, srv, "noc", access.RoleReadonly)
	idle := make([]net.Conn, 0, 2000)
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range 2000 {
		c, err := net.Dial("tcp", srv.HTTPAddr())
		if err != nil {
			t.Fatalf("after %d idle connections: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	start := time.Now()
	req, _ := http.NewRequest(http.MethodGet, "http://"+srv.HTTPAddr()+"/api/v1/alerts", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("an operator's request with 2,000 idle connections open: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || time.Since(start) > 2*time.Second {
		t.Fatalf("status %d after %s", resp.StatusCode, time.Since(start))
	}
	// Every idle connection is closed by the server once its header timeout passed.
	time.Sleep(1500 * time.Millisecond)
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
			closed++
		}
	}
	if closed != len(idle) {
		t.Fatalf("%d of %d idle connections closed by the server", closed, len(idle))
	}
	// A header over the limit is refused, not buffered.
	c, err := net.Dial("tcp", srv.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n"))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if !strings.Contains(line, "431") {
		t.Fatalf("oversized header: %q, want 431", line)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
