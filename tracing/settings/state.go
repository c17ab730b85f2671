package settings

import "time"

// Desired is what one agent should hold, resolved by the server from every
// stored setting (written to the bucket under the agent's key).
type Desired struct {
	Host string `json:"host"`
	// Setting is nil when none applies: the agent restores what it found.
	Setting   *Setting  `json:"setting,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SettingID is the desired setting's id, "" for none.
func (d Desired) SettingID() string {
	if d.Setting == nil {
		return ""
	}
	return d.Setting.ID
}

// State is what an agent reports about the setting it was given.
type State string

// Agent states.
const (
	// StateApplied: the setting's values are written.
	StateApplied State = "applied"
	// StateRestored: no setting applies and what the agent found is back
	// (or it never changed anything).
	StateRestored State = "restored"
	// StateFailed: the setting could not be applied (Reason says why; the
	// disk guard refusing a new setting is one).
	StateFailed State = "failed"
	// StateExpired: the setting's expiry passed and the agent restored
	// what it found, by itself.
	StateExpired State = "expired"
	// StateGuard: the disk guard reverted the setting, or refused it
	// because the disk was already past a limit (Reason says why).
	StateGuard State = "guard"
)

// Applied is an agent's acknowledgement: what it holds, what is written
// now and what it will restore.
type Applied struct {
	Host string `json:"host"`
	// SettingID is the setting this reports on ("" when it holds none).
	SettingID string `json:"setting_id"`
	// Setting is the setting it was given (nil for none).
	Setting *Setting `json:"setting,omitempty"`
	State   State    `json:"state"`
	Reason  string   `json:"reason,omitempty"`
	// Values are the trace values written now.
	Values Values `json:"values"`
	// Restore is what the agent will write back when the setting ends; nil
	// when it holds nothing to restore.
	Restore *Values `json:"restore,omitempty"`
	// At is when the agent reached this state.
	At time.Time `json:"at"`
	// Confirmed is set once a new trace file showed the setting in its
	// `# Categories:` header.
	Confirmed *Confirmation `json:"confirmed,omitempty"`
	// Events are what the agent did by itself (expiry, disk guard), the
	// latest MaxEvents, oldest first: a later acknowledgement still
	// carries them, so the server audits each once even when it was down
	// and only sees the newest acknowledgement.
	Events []AgentEvent `json:"events,omitempty"`
}

// MaxEvents bounds Applied.Events.
const MaxEvents = 10

// AgentEvent is one thing an agent did by itself.
type AgentEvent struct {
	At time.Time `json:"at"`
	// State is StateExpired or StateGuard.
	State   State    `json:"state"`
	Setting *Setting `json:"setting,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	// Old and New are the trace values before and after.
	Old Values `json:"old"`
	New Values `json:"new"`
}

// Confirmation is the trace file that showed a setting took effect.
type Confirmation struct {
	File string    `json:"file"`
	At   time.Time `json:"at"`
}

// Results of GET /api/v1/trace/status per agent.
const (
	ResultApplied  = "applied"  // the desired setting is in effect
	ResultRestored = "restored" // no setting applies; what was found is back
	ResultPending  = "pending"  // the agent has not acknowledged the desired setting yet
	ResultFailed   = "failed"   // the agent could not apply it or the disk guard reverted it; see reason
	ResultExpired  = "expired"  // the setting expired and the agent restored what it found
	ResultOffline  = "offline"  // the agent sends no heartbeat
)

// Result judges one agent: its desired setting against its acknowledgement.
func Result(d Desired, a *Applied, online bool) (result, reason string) {
	switch {
	case !online:
		return ResultOffline, "no heartbeat from the agent; it converges when it reconnects"
	case a == nil || a.SettingID != d.SettingID():
		return ResultPending, "waiting for the agent's acknowledgement"
	}
	switch a.State {
	case StateApplied:
		return ResultApplied, ""
	case StateRestored:
		return ResultRestored, ""
	case StateExpired:
		return ResultExpired, a.Reason
	case StateGuard:
		return ResultFailed, "disk guard: " + a.Reason
	}
	return ResultFailed, a.Reason
}

// Done reports whether a result ends a wait for acknowledgements.
func Done(result string) bool { return result != ResultPending }

// Success reports whether a result means the agent holds what it should.
func Success(result string) bool { return result == ResultApplied || result == ResultRestored }

// AgentStatus is one agent in GET /api/v1/trace/status.
type AgentStatus struct {
	Host          string    `json:"host"`
	Roles         []string  `json:"roles"`
	Groups        []string  `json:"groups,omitempty"`
	Online        bool      `json:"online"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	// Desired is the effective setting (nil: none applies) and Source the
	// target it comes from ("farm", "role AppServer", …; "" for none).
	Desired *Setting `json:"desired,omitempty"`
	Source  string   `json:"source,omitempty"`
	// Applied is the agent's last acknowledgement.
	Applied   *Applied   `json:"applied,omitempty"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
	Result    string     `json:"result"`
	Reason    string     `json:"reason,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
	// Restore is what the agent will write back when the setting ends.
	Restore *Values `json:"restore,omitempty"`
}

// StatusResponse is the body of GET /api/v1/trace/status.
type StatusResponse struct {
	Settings []Setting     `json:"settings"`
	Agents   []AgentStatus `json:"agents"`
}

// Expectation is what one agent should acknowledge after a change.
type Expectation struct {
	Host string `json:"host"`
	// SettingID is the id the agent must report ("" for none: restore).
	SettingID string `json:"setting_id"`
	// Note explains agents that are covered but keep another setting.
	Note string `json:"note,omitempty"`
}

// ChangeResponse is the body of a successful set or clear.
type ChangeResponse struct {
	// Setting is the new setting (set) or the removed one (clear).
	Setting  Setting  `json:"setting"`
	Warnings []string `json:"warnings,omitempty"`
	// Agents are the agents whose desired setting changed, and what each
	// must acknowledge; Unchanged are covered agents a more specific
	// setting keeps as they are.
	Agents    []Expectation `json:"agents"`
	Unchanged []Expectation `json:"unchanged,omitempty"`
}

// API routes of trace control (served by tracing/tracectl.Manager).
const (
	SettingsPath = "/api/v1/trace/settings"       // POST Request: set; DELETE ?target=…&reason=…: clear
	ClearPath    = "/api/v1/trace/settings/clear" // POST ClearRequest: clear
	StatusPath   = "/api/v1/trace/status"         // GET: StatusResponse
)

// ClearRequest is the body of POST /api/v1/trace/settings/clear.
type ClearRequest struct {
	Target Target `json:"target"`
	Reason string `json:"reason,omitempty"`
}
