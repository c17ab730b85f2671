package server

import (
	"context"
	"log/slog"
	"time"

	"crmwatch/event"
	"crmwatch/rules"
)

// ingest is the Consumer's handler: it evaluates observations and returns
// only once the resulting alert changes are in the store, so the messages
// are acknowledged only then.
//
// The engine evaluates a batch exactly once. If the store refuses the
// changes, the engine keeps them and sends them first with its next call;
// ingest then retries an empty call (which only flushes) with backoff
// instead of returning an error, because a redelivered batch would be
// evaluated again and count its repeats twice.
type ingest struct {
	engine *rules.Engine
	log    *slog.Logger
}

func (in *ingest) HandleEvents(ctx context.Context, evs []event.Event) error {
	return in.untilStored(ctx, in.engine.ProcessEvents(ctx, evs))
}

func (in *ingest) HandleSamples(ctx context.Context, ss []event.Sample) error {
	return in.untilStored(ctx, in.engine.ProcessSamples(ctx, ss))
}

func (in *ingest) untilStored(ctx context.Context, err error) error {
	backoff := 100 * time.Millisecond
	logged := false
	for err != nil {
		if !logged {
			in.log.Warn("alert changes not stored yet; retrying until the store accepts them", "err", err)
			logged = true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(backoff*2, 10*time.Second)
		err = in.engine.ProcessEvents(ctx, nil)
	}
	if logged {
		in.log.Info("alert changes stored again")
	}
	return nil
}
