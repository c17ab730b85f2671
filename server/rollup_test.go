package server

import (
	"context"
	"testing"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/event"
	"crmwatch/store/sqlstore"
)

// The server rolls samples and trace events up into its store, beside the
// rules engine and with a reader of its own.
func TestServerRollsUpSamplesAndOrganizationLoad(t *testing.T) {
	srv, stop := running(t, t.TempDir())
	defer stop()
	pub := publisherTo(t, srv.NATSURL().Reveal())
	at := time.Now().UTC().Truncate(time.Minute)
	b := event.Batch{Host: "CRMWEB01"}
	for i := range 30 {
		b.Samples = append(b.Samples, event.Sample{Time: at.Add(time.Duration(i) * time.Second), Host: "CRMWEB01", Role: "AppServer",
			Counter: `\Memory\Available MBytes`, Value: float64(6000 + i)})
	}
	b.Events = append(b.Events, event.Event{Time: at, Host: "CRMWEB01", Source: event.SourceTrace, Organization: "Contoso", RequestID: "r1", Level: event.LevelInfo})
	if err := pub.Emit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	st := srv.Store().(*sqlstore.Store)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got rollup.SeriesRow
		var requests uint64
		_ = st.ScanSeries(context.Background(), rollup.Minute, at, at.Add(time.Minute), func(r *rollup.SeriesRow) error { got = *r; return nil })
		_ = st.ScanOrgs(context.Background(), at.Add(-time.Hour), at.Add(time.Hour), func(r *rollup.OrgRow) error { requests += r.Requests; return nil })
		if got.Count == 30 && requests == 1 {
			if got.Min != 6000 || got.Max != 6029 || got.Role != "AppServer" {
				t.Fatalf("minute bucket %+v", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the store holds %d samples and %d requests, want 30 and 1", got.Count, requests)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
