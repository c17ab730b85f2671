package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
)

// post sends one OTLP/HTTP protobuf request and decodes the response into
// resp, retrying throttling and transient failures with backoff.
func (e *Exporter) post(ctx context.Context, url string, req, resp proto.Message) error {
	body, err := proto.Marshal(req)
	if err != nil {
		return fmt.Errorf("otlp: encode request for %s: %w", url, err)
	}
	if e.opts.Gzip {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		if _, err := zw.Write(body); err != nil {
			return fmt.Errorf("otlp: gzip: %w", err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("otlp: gzip: %w", err)
		}
		body = b.Bytes()
	}
	backoff := e.opts.Backoff
	var last error
	for attempt := 0; attempt <= e.opts.MaxRetries; attempt++ {
		wait, err := e.try(ctx, url, body, resp)
		if err == nil {
			e.counts.Requests++
			return nil
		}
		last = err
		var perm *permanentError
		if errors.As(err, &perm) || ctx.Err() != nil {
			break
		}
		if wait <= 0 {
			wait = backoff
			backoff = min(backoff*2, 30*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("otlp: POST %s: %w (last error: %v)", url, ctx.Err(), last)
		case <-t.C:
		}
	}
	return fmt.Errorf("otlp: POST %s failed (check the URL and that the receiver accepts OTLP/HTTP protobuf): %w", url, last)
}

// permanentError is a response that retrying will not fix (4xx but 429).
type permanentError struct{ status int }

func (p *permanentError) Error() string { return "status " + strconv.Itoa(p.status) }

// try makes one attempt; wait is the server's Retry-After, if any.
func (e *Exporter) try(ctx context.Context, url string, body []byte, resp proto.Message) (time.Duration, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{}
	}
	hr.Header.Set("Content-Type", "application/x-protobuf")
	if e.opts.Gzip {
		hr.Header.Set("Content-Encoding", "gzip")
	}
	for _, h := range e.opts.Headers {
		hr.Header.Set(h.Name, string(h.Value))
	}
	res, err := e.opts.Client.Do(hr)
	if err != nil {
		return 0, err // network errors are retried; the message names no header
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if len(data) > 0 {
			if err := proto.Unmarshal(data, resp); err != nil {
				return 0, &permanentError{status: res.StatusCode}
			}
		}
		return 0, nil
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusBadGateway ||
		res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusGatewayTimeout:
		return retryAfter(res.Header.Get("Retry-After")), fmt.Errorf("status %d %s", res.StatusCode, snippet(data))
	default:
		return 0, fmt.Errorf("%w %s", &permanentError{status: res.StatusCode}, snippet(data))
	}
}

func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return min(time.Duration(s)*time.Second, time.Minute)
	}
	return 0
}

// snippet is a short printable excerpt of a response body for errors.
func snippet(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return strconv.Quote(string(b))
}
