package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Item is one message read from a stream, decoded.
type Item[T any] struct {
	// Seq is the message's stream sequence; the reader delivers them in
	// increasing order, each once.
	Seq     uint64
	Subject string
	Value   T
	// Err is set when the payload could not be decoded; Value is then the
	// zero value, and the item still counts as read.
	Err error
}

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	JS     jetstream.JetStream
	Stream string
	// After is the last sequence already processed; reading starts after
	// it (0 reads from the first message kept).
	After uint64
	// Buffer is how many decoded items wait for the caller (default 1024).
	Buffer int
	Logger *slog.Logger
}

// Reader reads one stream in sequence order from a position the caller
// keeps (the evaluator stores it with the alert changes it caused), so a
// restart resumes exactly after what was committed: nothing is redelivered
// out of order and nothing depends on acknowledgements. Decoding runs in
// the reader's goroutine, beside the caller's processing.
type Reader[T any] struct {
	o      ReaderOptions
	decode func(jetstream.Msg) (T, error)
	c      chan Item[T]
	// Skipped counts messages that left the stream (age or size limits)
	// before they were read: the stream's first sequence was past After+1.
	Skipped uint64
	// Restarted is set when the stream's last sequence was below After: the
	// stream was recreated, so reading started again from its beginning.
	Restarted bool
}

// NewReader prepares a reader; decode turns a message into a value.
func NewReader[T any](o ReaderOptions, decode func(jetstream.Msg) (T, error)) *Reader[T] {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reader[T]{o: o, decode: decode, c: make(chan Item[T], o.Buffer)}
}

// C delivers the items in order; it is closed when Run returns.
func (r *Reader[T]) C() <-chan Item[T] { return r.c }

// Run reads until ctx ends. It checks the position against the stream
// first: a position past the stream's end means the stream was recreated
// (its sequences started again), which would otherwise silently skip
// everything new.
func (r *Reader[T]) Run(ctx context.Context) error {
	defer close(r.c)
	st, err := r.o.JS.Stream(ctx, r.o.Stream)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("read stream %s: %w", r.o.Stream, err)
	}
	info := st.CachedInfo().State
	after := r.o.After
	if after > info.LastSeq {
		r.Restarted = true
		r.o.Logger.Warn("stream is behind the stored position: it was recreated; reading it from its start",
			"stream", r.o.Stream, "position", after, "stream_last", info.LastSeq)
		after = 0
	}
	if after > 0 && info.FirstSeq > after+1 && info.Msgs > 0 {
		r.Skipped = info.FirstSeq - after - 1
		r.o.Logger.Error("messages left the stream before they were evaluated (stream limits: age or size)",
			"stream", r.o.Stream, "lost", r.Skipped, "first_kept", info.FirstSeq)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	cons, err := r.o.JS.OrderedConsumer(ctx, r.o.Stream, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("read stream %s from %d: %w", r.o.Stream, after+1, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(r.o.Buffer))
	if err != nil {
		return fmt.Errorf("read stream %s: %w", r.o.Stream, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			r.o.Logger.Warn("reading stream; retrying", "stream", r.o.Stream, "err", err)
			if !sleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		md, err := m.Metadata()
		if err != nil {
			continue // not a JetStream message
		}
		v, derr := r.decode(m)
		select {
		case r.c <- Item[T]{Seq: md.Sequence.Stream, Subject: m.Subject(), Value: v, Err: derr}:
		case <-ctx.Done():
			return nil
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
