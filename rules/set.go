package rules

import (
	"errors"
	"fmt"
)

// ruleSet is one compiled, indexed rule set. It is replaced as a whole by
// Load; only seen and the rule states are mutated, under the engine lock.
type ruleSet struct {
	rules   []*compiledRule // enabled rules, in load order; rule.pos indexes them
	byID    map[string]*compiledRule
	states  []*ruleState // per rule, carried over by Load when the rule is unchanged
	events  *eventIndex
	samples map[string][]sampleEntry // counterKey → rules on that counter
	missing []*compiledRule          // missing rules (Tick, Heartbeat)
	ticked  []*compiledRule          // event and correlation rules (resolve_after)
	seen    []uint64                 // per event-index entry: last event seq evaluated
}

func emptySet() *ruleSet {
	return &ruleSet{byID: map[string]*compiledRule{}, events: newEventIndex(), samples: map[string][]sampleEntry{}}
}

// compileSet validates every rule (disabled ones too, so a pack's mistakes
// show before someone enables the rule) and indexes the enabled ones.
func compileSet(rs []Rule) (*ruleSet, error) {
	set := emptySet()
	var errs []error
	first := map[string]int{}
	for i, r := range rs {
		if r.ID != "" {
			if j, dup := first[r.ID]; dup {
				errs = append(errs, fmt.Errorf("rule %q: id: duplicate (rules #%d and #%d)", r.ID, j+1, i+1))
				continue
			}
			first[r.ID] = i
		}
		label := fmt.Sprintf("rule %q", r.ID)
		if r.ID == "" {
			label = fmt.Sprintf("rule #%d", i+1)
		}
		c, err := compileRule(r, label)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.IsEnabled() {
			set.add(c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	set.seen = make([]uint64, set.events.n)
	return set, nil
}

func (s *ruleSet) add(c *compiledRule) {
	c.pos = len(s.rules)
	s.rules = append(s.rules, c)
	s.states = append(s.states, newRuleState())
	s.byID[c.id] = c
	switch c.kind {
	case KindEvent, KindCorrelation:
		s.events.add(c)
		s.ticked = append(s.ticked, c)
	case KindThreshold, KindTrend:
		s.addCounter(c)
	case KindMissing:
		s.missing = append(s.missing, c)
		switch {
		case c.miss.counter:
			s.addCounter(c)
		case c.match != nil:
			s.events.add(c)
		}
	}
}

func (s *ruleSet) addCounter(c *compiledRule) {
	k := string(counterKey(nil, c.counter))
	s.samples[k] = append(s.samples[k], sampleEntry{r: c, instance: c.counter.Instance})
}

func (e *Engine) stateOf(r *compiledRule) *ruleState { return e.set.states[r.pos] }
