package tracectl

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"crmwatch/tracing/settings"
)

// stateFile is the agent's memory across restarts, in its state directory:
// the setting it holds (so expiry is enforced after a restart, with or
// without the centre) and what it found before changing anything (so a
// restart while tracing is on still restores the original values, not
// the verbose ones it wrote).
const stateFile = "tracectl-state.json"

type heldState struct {
	// Setting is the setting the agent was last given (nil: none).
	Setting *settings.Setting `json:"setting,omitempty"`
	// Found is what to restore; nil while the agent has changed nothing.
	Found *settings.Values `json:"found,omitempty"`
	// Ack is the last acknowledgement, sent again after a restart.
	Ack settings.Applied `json:"ack"`
	// Events are what the agent did by itself, carried in every
	// acknowledgement (settings.Applied.Events).
	Events []settings.AgentEvent `json:"events,omitempty"`
}

// record appends an event, keeping the latest settings.MaxEvents.
func (s *heldState) record(e settings.AgentEvent) {
	s.Events = append(s.Events, e)
	if n := len(s.Events) - settings.MaxEvents; n > 0 {
		s.Events = append([]settings.AgentEvent(nil), s.Events[n:]...)
	}
}

// active reports whether the agent has changed values it must restore.
func (s heldState) active() bool { return s.Found != nil }

func loadState(dir string) (heldState, error) {
	var s heldState
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read trace-control state: %w", err)
	}
	s, err = parseState(data)
	if err != nil {
		return heldState{}, fmt.Errorf("trace-control state %s is corrupt: %w (delete it only after checking the CRM trace values by hand: it records what to restore)",
			filepath.Join(dir, stateFile), err)
	}
	return s, nil
}

// parseState decodes a state file and checks that what it would restore
// can be written.
func parseState(data []byte) (heldState, error) {
	var s heldState
	if err := json.Unmarshal(data, &s); err != nil {
		return heldState{}, err
	}
	if s.Found != nil {
		if err := checkWritable(*s.Found); err != nil {
			return heldState{}, fmt.Errorf("values to restore: %w", err)
		}
	}
	return s, nil
}

// save replaces the state file atomically and syncs it: it must be on disk
// before the values it describes are written.
func (s heldState) save(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save trace-control state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tracectl-*")
	if err != nil {
		return fmt.Errorf("save trace-control state: %w", err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), filepath.Join(dir, stateFile))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save trace-control state: %w", werr)
	}
	return nil
}
