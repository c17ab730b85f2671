package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"crmwatch/access"
	"crmwatch/store"
)

// GET /api/v1/audit filters by since (a time or a duration before now) and
// actor; unknown parameters stay 400.
func TestAuditFilters(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	now := t0.Add(time.Hour) // the fixture's clock
	for _, e := range []store.AuditEntry{
		{At: now.Add(-3 * time.Hour), Actor: "alice", Action: "alert.acknowledge", Target: "a1"},
		{At: now.Add(-30 * time.Minute), Actor: "bob", Action: "alert.resolve", Target: "a1"},
		{At: now.Add(-10 * time.Minute), Actor: "alice", Action: "alert.resolve", Target: "a2"},
	} {
		if err := f.store.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := decode[AuditResponse](t, f.do("GET", "/api/v1/audit?since=1h&actor=alice", access.RoleAdmin)).Entries
	if len(got) != 1 || got[0].Target != "a2" {
		t.Fatalf("since=1h&actor=alice: %+v", got)
	}
	got = decode[AuditResponse](t, f.do("GET", "/api/v1/audit?actor=bob&since="+now.Add(-time.Hour).Format(time.RFC3339), access.RoleAdmin)).Entries
	if len(got) != 1 || got[0].Action != "alert.resolve" {
		t.Fatalf("since=RFC 3339: %+v", got)
	}
	got = decode[AuditResponse](t, f.do("GET", "/api/v1/audit?actor=alice&since="+now.Add(-4*time.Hour).Format(time.RFC3339), access.RoleAdmin)).Entries
	if len(got) != 2 {
		t.Fatalf("since 4h ago: %+v", got)
	}
	for _, q := range []string{"?actr=alice", "?since=yesterday", "?limit=0"} {
		rec := f.do("GET", "/api/v1/audit"+q, access.RoleAdmin)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, rec.Code)
		}
	}
	if rec := f.do("GET", "/api/v1/audit?actr=alice", access.RoleAdmin); !strings.Contains(rec.Body.String(), `unknown parameter \"actr\" (want since, actor or limit)`) {
		t.Errorf("unknown parameter: %s", rec.Body)
	}
}

// FuzzParseAuditFilter: any query is accepted within the limits or
// refused, never a panic, and since is never after now for a duration.
func FuzzParseAuditFilter(f *testing.F) {
	for _, s := range []string{"since=24h&actor=alice", "since=7d", "since=2026-11-21T23:00:00Z", "since=-5m", "since=99999999999d", "limit=0", "actr=x"} {
		f.Add(s)
	}
	now := t0
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseAuditFilter(q, now)
		if err != nil {
			return
		}
		if flt.Limit < 1 || flt.Limit > MaxAlertLimit {
			t.Fatalf("accepted limit %d", flt.Limit)
		}
		if v := q.Get("since"); v != "" {
			if _, perr := time.Parse(time.RFC3339, strings.TrimSpace(v)); perr != nil && flt.Since.After(now) {
				t.Fatalf("since %q lies after now: %v", v, flt.Since)
			}
		}
	})
}
