// Package settings is the model of remote CRM trace control: what an
// operator asks for (a Setting aimed at the farm, a role, a server group or
// a host), what each agent should hold (Desired, resolved host > group >
// role > farm), what it reports back (Applied), and the registry values a
// setting becomes (Values, written under HKLM\SOFTWARE\Microsoft\MSCRM on
// Windows or to the settings File elsewhere).
//
// Every fact comes from the project's CRM domain reference §3: the value
// names, types and ranges of KB 907490 (§3.1), the TraceCategories grammar
// and level names (§3.2), and what Microsoft's own collector writes
// (TraceEnabled=1, TraceCallStack=1, TraceCategories=*:Verbose,
// TraceFileSizeLimit=100, then a changed TraceRefresh).
//
// The package is pure: no NATS, no registry, no clock of its own. The
// server side (tracing/tracectl.Manager), the agent side
// (tracing/tracectl.Controller), the API client and the simulator all share
// it.
package settings
