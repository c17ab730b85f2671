package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
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
	attempts := 0
	for attempt := 0; attempt <= e.opts.MaxRetries; attempt++ {
		attempts++
		wait, err := e.try(ctx, url, body, resp)
		if err == nil {
			e.counts.Requests++
			return nil
		}
		last = err
		var perm *permanentError
		if errors.As(err, &perm) || ctx.Err() != nil || attempt == e.opts.MaxRetries {
			break
		}
		if wait <= 0 {
			wait = backoff
			backoff = min(backoff*2, 30*time.Second)
		}
		if e.opts.OnRetry != nil {
			e.opts.OnRetry(Retry{URL: url, Attempt: attempt + 1, Max: e.opts.MaxRetries, Wait: wait, Err: unwrapURLError(err)})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("otlp: POST %s: %w (last error: %v)", url, ctx.Err(), last)
		case <-t.C:
		}
	}
	return fmt.Errorf("otlp: POST %s failed after %s: %w (check the URL and that an OTLP/HTTP receiver, such as an OpenTelemetry Collector with the otlp receiver on port 4318, runs there)",
		url, attemptsText(attempts), unwrapURLError(last))
}

func attemptsText(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// unwrapURLError drops url.Error's repetition of method and URL, which the
// message already names.
func unwrapURLError(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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
