package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// LegacyPosition returns how far the shared durable consumer of the
// release before the evaluator (Names.Durable) had acknowledged stream, so
// an upgraded server resumes there instead of evaluating the whole stream
// again, and deletes that consumer. ok is false when there is none.
func LegacyPosition(ctx context.Context, js jetstream.JetStream, n Names, stream string) (seq uint64, ok bool, err error) {
	name := n.Durable(stream)
	c, err := js.Consumer(ctx, stream, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up consumer %s on %s: %w", name, stream, err)
	}
	seq = c.CachedInfo().AckFloor.Stream
	if err := js.DeleteConsumer(ctx, stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, false, fmt.Errorf("delete consumer %s on %s: %w", name, stream, err)
	}
	return seq, true, nil
}
