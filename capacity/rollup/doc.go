// Package rollup keeps the history capacity planning reads: performance
// counter samples rolled up per host and counter to 1-minute, 1-hour and
// 1-day buckets (count, min, average, max and a mergeable sketch for the
// 95th percentile), and the load of each organization per host and hour
// (requests, errors, distinct users) derived from trace events.
//
// The Consumer reads the samples and events streams with readers of its own
// (never the rules engine's), from positions it commits in the store with
// the rolled-up rows in one transaction, while its server holds the rollup
// lease; so every sample is counted once across restarts and hand-overs.
// The Aggregator is the pure part; `crmwatch simulate --backfill` feeds it
// straight from the simulator.
package rollup
