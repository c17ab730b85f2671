// Package simulate is a deterministic generator of what a hosted,
// multi-tenant Dynamics CRM farm writes: today the platform trace files of
// every server role (AppServer, SdkServer, DiscoveryService, HelpServer,
// AsyncService, SandboxService, DeploymentService) in the real format, with
// named faults that make the errors an operator must be alerted to appear.
//
// The demo, the end-to-end tests and the benchmarks drive it in process
// (New, Run, Generate, Inject); `crmwatch simulate` is its command line.
//
// Layout: a shared model (farm.go, topology.go, tenants.go, clock.go,
// faults.go) and one output per kind of thing a host writes behind the small
// output interface (output.go). trace_*.go is the trace-file output; event
// logs, performance counters and SNMP traps are later outputs of the same
// hosts, each with its own random stream so adding one never changes what
// the others write for a given seed.
//
// Every format detail comes from the project's CRM domain reference (§2 trace
// grammar and real lines, §3.2 categories and levels, §5 event texts). Where
// the reference has no real sample (the trace title line, CRM 4.0 file
// names), the simulator uses the CRM 2011+ form and says so in a comment.
package simulate
