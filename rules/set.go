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
	// hosts holds the rules scoped to named hosts (Scope.Hosts), by ASCII
	// lower-case host, so they cost nothing for other hosts' observations.
	hosts    map[string]*hostRules
	nEntries int             // event index entries, across events and hosts
	missing  []*compiledRule // missing rules (Tick, Heartbeat)
	ticked   []*compiledRule // event and correlation rules (resolve_after)
	seen     []uint64        // per event-index entry: last event seq evaluated
	// parentsOf lists, by internal rule id, the rules whose alerts may
	// parent that rule's alerts (Explains).
	parentsOf map[string][]*compiledRule
}

func emptySet() *ruleSet {
	return &ruleSet{
		byID: map[string]*compiledRule{}, events: newEventIndex(), samples: map[string][]sampleEntry{},
		hosts: map[string]*hostRules{}, parentsOf: map[string][]*compiledRule{},
	}
}

// hostRules are the event and counter indexes of one host's scoped rules.
type hostRules struct {
	events  *eventIndex
	samples map[string][]sampleEntry
}

// hostRulesOf returns the indexes of lower-case host, creating them.
func (s *ruleSet) hostRulesOf(host string) *hostRules {
	h := s.hosts[host]
	if h == nil {
		h = &hostRules{events: newEventIndex(), samples: map[string][]sampleEntry{}}
		s.hosts[host] = h
	}
	return h
}

// scopedHosts lists the hosts a rule is filed under, or nil when it is
// filed in the farm-wide indexes.
func scopedHosts(c *compiledRule) []string {
	if c.scope == nil || c.scope.hosts == nil {
		return nil
	}
	return sortedMapKeys(c.scope.hosts)
}

// compileSet validates every rule (disabled ones too, so a pack's mistakes
// show before someone enables the rule) and indexes the enabled ones.
func compileSet(rs []Rule) (*ruleSet, error) {
	set := emptySet()
	var errs []error
	first := map[string]int{}
	for i, r := range rs {
		id := r.InternalID()
		if r.ID != "" {
			if j, dup := first[id]; dup {
				errs = append(errs, fmt.Errorf("rule %q: id: duplicate (rules #%d and #%d)", id, j+1, i+1))
				continue
			}
			first[id] = i
		}
		label := fmt.Sprintf("rule %q", id)
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
	set.seen = make([]uint64, set.nEntries)
	set.linkParents()
	return set, nil
}

func (s *ruleSet) add(c *compiledRule) {
	c.pos = len(s.rules)
	s.rules = append(s.rules, c)
	s.states = append(s.states, newRuleState())
	s.byID[c.id] = c
	switch c.kind {
	case KindEvent, KindCorrelation:
		s.addEvent(c)
		s.ticked = append(s.ticked, c)
	case KindThreshold, KindTrend:
		s.addCounter(c)
	case KindMissing:
		s.missing = append(s.missing, c)
		switch {
		case c.miss.counter:
			s.addCounter(c)
		case c.match != nil:
			s.addEvent(c)
		}
	}
}

// addEvent files c in the event index; one entry number serves every host
// index it is filed in, so an event is evaluated once per rule.
func (s *ruleSet) addEvent(c *compiledRule) {
	idx := s.nEntries
	s.nEntries++
	hs := scopedHosts(c)
	if hs == nil {
		s.events.add(c, idx)
		return
	}
	for _, h := range hs {
		s.hostRulesOf(h).events.add(c, idx)
	}
}

func (s *ruleSet) addCounter(c *compiledRule) {
	k := string(counterKey(nil, c.counter))
	en := sampleEntry{r: c, instance: c.counter.Instance}
	hs := scopedHosts(c)
	if hs == nil {
		s.samples[k] = append(s.samples[k], en)
		return
	}
	for _, h := range hs {
		hr := s.hostRulesOf(h)
		hr.samples[k] = append(hr.samples[k], en)
	}
}

func (e *Engine) stateOf(r *compiledRule) *ruleState { return e.set.states[r.pos] }
