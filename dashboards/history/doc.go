// Package history answers what a pack dashboard's panel showed over a time
// range, from what the server keeps: the capacity rollups (1-minute buckets
// for at least a day, hours and days beyond). It serves the console's
// dashboards through operator-only API routes.
//
// The mapping from a panel's PromQL onto the rollups is deliberately
// narrow (docs/dashboards.md, "In the console"): a query over
// crmwatch_perfcounter_value built from selectors, avg/min/max_over_time
// with a 1m, 1h or 1d window, sum/min/max/avg by labels and arithmetic
// with a number is evaluated on the buckets; the server's own metrics come
// from a Recorder of its readings (every minute, a day, in memory; rate and
// increase too); anything else, and every query over a metric of the
// agents' /metrics, is answered "not recorded" with the reason, never with
// made-up points.
package history
