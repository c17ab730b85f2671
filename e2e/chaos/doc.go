// Package chaos is crmwatch's delivery chaos suite: the real binary, the
// machine's nats-server and PostgreSQL binaries (each a private instance on
// its own ports and directory, so restarting one disturbs nobody), killed
// and restarted while an agent ships sequence-numbered trace records. Every
// case asserts exact counts: the seq.record rule raises one alert per
// record, so a lost record is a missing alert and a doubled one a repeat
// count of 2.
//
// `go test ./e2e/chaos` (part of `make test`) runs a bounded set of cases;
// `make chaos` (CRMWATCH_CHAOS=full) runs them all, with more kills, the
// NATS and PostgreSQL restarts and a five-minute server outage.
package chaos
