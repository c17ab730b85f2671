// Package transport carries observations from agents to the server over NATS
// JetStream, and holds the key-value buckets agents and the server share.
//
// It owns: the embedded NATS server the crmwatch server runs by default
// (Embedded), connections to it or to an external cluster (Connect), the
// streams and buckets (Setup), the agent-side Publisher (a collectors.Sink
// whose Emit returns only after JetStream acknowledged the batch), the
// server-side Consumer (one durable pull consumer per stream shared by all
// server instances, acked only after the handler persisted the result), the
// high-water-mark filter that drops trace records an agent re-sent after a
// crash, and agent registrations with heartbeats.
//
// Everything stays inside the nats-server 2.9 feature profile (single-filter
// consumers and watchers, no compression, no per-key TTL) so that an existing
// 2.9 cluster can be used instead of the embedded server.
package transport
