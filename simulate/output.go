package simulate

import "time"

// output is one kind of thing a simulated host writes: trace files now;
// event logs, performance counters and SNMP traps later. A host drives its
// outputs from one goroutine in simulated-time order, so an output needs no
// locking of its own.
type output interface {
	// next is the simulated time of the output's next item.
	next() time.Time
	// step writes the item due at next() and schedules the one after. It
	// returns how many records it wrote.
	step() (int, error)
	// flush pushes buffered bytes to the files (tailers see them).
	flush() error
	// close flushes and closes every file; the output is not used again.
	close() error
	// stats reports what the output has written so far.
	stats() OutputStats
}

// OutputStats counts what one output of a host wrote.
type OutputStats struct {
	Files   int   // files created
	Records int64 // records written
	Bytes   int64 // bytes written
	// SettingsReloads counts trace-settings changes the host applied
	// (Options.SettingsDir); SettingsErrors counts unusable settings files.
	SettingsReloads int
	SettingsErrors  int
}

// HostStats is what a host has written so far.
type HostStats struct {
	Host  string
	Trace OutputStats
	// EventLog counts the event-log XML files and entries of the faults.
	EventLog OutputStats
}
