// Package tracectl is remote CRM trace control: one command turns
// platform tracing on for the farm, a role, a server group or a host, every
// agent applies and acknowledges it, it ends by itself, and a disk guard
// turns it off when the trace folder grows too big.
//
// The server side (Manager) keeps the operators' settings in the
// trace-settings bucket, resolves the one setting each agent should hold
// (host > group > role > farm) into that agent's desired key, audits every
// change, and serves the status and change routes of the HTTP API. The
// agent side (Controller) watches only its own desired key, writes the
// values through an Applier (the registry on Windows, a settings file
// elsewhere and in tests), remembers on disk what it found, enforces expiry
// itself — also while the centre is down and across restarts — and writes
// its acknowledgement under its applied key.
package tracectl
