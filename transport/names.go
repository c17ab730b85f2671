package transport

import (
	"fmt"
	"strings"
)

// DefaultPrefix names everything crmwatch creates in NATS.
const DefaultPrefix = "crmwatch"

// Names are the subjects, streams, buckets and durable consumers of one
// crmwatch installation. Several installations (or test runs) can share one
// NATS account by using different prefixes.
type Names struct {
	Prefix string
}

// NewNames returns the names for prefix ("" means DefaultPrefix). The prefix
// must be a single NATS token of letters, digits, '-' or '_'.
func NewNames(prefix string) (Names, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	for _, r := range prefix {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return Names{}, fmt.Errorf("transport prefix %q: only letters, digits, '-' and '_' are allowed", prefix)
		}
	}
	return Names{Prefix: prefix}, nil
}

func (n Names) prefix() string {
	if n.Prefix == "" {
		return DefaultPrefix
	}
	return n.Prefix
}

// EventsStream is the stream of event batches.
func (n Names) EventsStream() string { return streamName(n.prefix(), "EVENTS") }

// SamplesStream is the stream of sample batches.
func (n Names) SamplesStream() string { return streamName(n.prefix(), "SAMPLES") }

// EventsSubject is where host publishes event batches.
func (n Names) EventsSubject(host string) string {
	return n.prefix() + ".events." + SubjectToken(host)
}

// SamplesSubject is where host publishes sample batches.
func (n Names) SamplesSubject(host string) string {
	return n.prefix() + ".samples." + SubjectToken(host)
}

// EventsFilter matches every host's event subject.
func (n Names) EventsFilter() string { return n.prefix() + ".events.>" }

// SamplesFilter matches every host's sample subject.
func (n Names) SamplesFilter() string { return n.prefix() + ".samples.>" }

// AgentsBucket holds agent registrations and heartbeats (key: host token).
func (n Names) AgentsBucket() string { return n.prefix() + "-agents" }

// TraceSettingsBucket holds desired and applied trace settings.
func (n Names) TraceSettingsBucket() string { return n.prefix() + "-trace-settings" }

// PacksBucket holds the packs agents need (discovery, what to collect).
func (n Names) PacksBucket() string { return n.prefix() + "-packs" }

// Durable is the name of the pull consumer all server instances shared on
// stream before the evaluator read streams by position; a server upgrading
// from that release resumes from its acknowledged floor, then deletes it.
func (n Names) Durable(stream string) string { return stream + "_SERVER" }

// ChangesStream is the stream of committed alert changes (notifiers,
// consoles and other downstream consumers read it, never the ingest path).
func (n Names) ChangesStream() string { return streamName(n.prefix(), "ALERT_CHANGES") }

// ChangesSubject is where committed alert changes are published.
func (n Names) ChangesSubject() string { return n.prefix() + ".alerts.changes" }

// NotifyConsumer is the durable consumer through which every server
// sends changes to one notification receiver (receiver names are letters,
// digits, '-' and '_').
func (n Names) NotifyConsumer(receiver string) string {
	return n.ChangesStream() + "_NOTIFY_" + receiver
}

// EvaluatorBucket holds the evaluator lease: which server evaluates rules.
func (n Names) EvaluatorBucket() string { return n.prefix() + "-evaluator" }

// ControlSubject carries nudges between servers (e.g. "suppressions
// changed"); losing one only delays the reaction to the next poll.
func (n Names) ControlSubject(topic string) string { return n.prefix() + ".control." + topic }

func streamName(prefix, kind string) string {
	return strings.ToUpper(strings.ReplaceAll(prefix, "-", "_")) + "_" + kind
}

// SubjectToken turns a host name into one NATS subject token that is also a
// valid KV key: anything but letters, digits, '-' and '_' (dots, wildcards,
// whitespace) would split or widen the subject, so it becomes '_'. The real
// host name travels in the payload.
func SubjectToken(host string) string {
	if host == "" {
		return "_"
	}
	b := []byte(host)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
