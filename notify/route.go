package notify

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"crmwatch/alerts"
	"crmwatch/alerts/suppress"
)

// Route sends the alerts its matchers select to its receivers. Routes are
// tried in order; the first that matches wins unless it says Continue.
type Route struct {
	// Matchers are silence-style matchers on rule, host, role, group,
	// organization and severity (e.g. "severity=~error|critical",
	// "role=AppServer"); all must hold. None matches every alert.
	Matchers  []suppress.Matcher
	Receivers []string
	// Continue goes on to the next routes after a match.
	Continue bool
	// RepeatInterval overrides the default reminder interval for alerts
	// this route sends (0: the default).
	RepeatInterval time.Duration
}

// Router picks the receivers of an alert.
type Router struct {
	routes []Route
	// all are every receiver, used when there are no routes.
	all []string
	// repeat is the default reminder interval.
	repeat time.Duration
}

// DefaultRepeatInterval is how often an alert that keeps repeating is
// notified again (Alertmanager's default too).
const DefaultRepeatInterval = 4 * time.Hour

// NewRouter checks the routes against the receivers. Without routes every
// receiver gets every alert. repeat ≤ 0 means DefaultRepeatInterval.
func NewRouter(routes []Route, receivers []string, repeat time.Duration) (*Router, error) {
	if repeat <= 0 {
		repeat = DefaultRepeatInterval
	}
	var errs []error
	for i, r := range routes {
		if len(r.Receivers) == 0 {
			errs = append(errs, fmt.Errorf("routes[%d]: no receivers (list at least one of: %v)", i, receivers))
		}
		for _, name := range r.Receivers {
			if !slices.Contains(receivers, name) {
				errs = append(errs, fmt.Errorf("routes[%d]: receiver %q is not configured (configured: %v)", i, name, receivers))
			}
		}
		if r.RepeatInterval < 0 {
			errs = append(errs, fmt.Errorf("routes[%d]: repeat_interval must not be negative", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Router{routes: routes, all: slices.Clone(receivers), repeat: repeat}, nil
}

// Match returns the receivers for the alert and, for each, the reminder
// interval of the first route that chose it.
func (r *Router) Match(a *alerts.Alert, hi suppress.HostInfo) map[string]time.Duration {
	out := make(map[string]time.Duration)
	if len(r.routes) == 0 {
		for _, n := range r.all {
			out[n] = r.repeat
		}
		return out
	}
	for i := range r.routes {
		rt := &r.routes[i]
		if !matchAll(rt.Matchers, a, hi) {
			continue
		}
		every := rt.RepeatInterval
		if every <= 0 {
			every = r.repeat
		}
		for _, n := range rt.Receivers {
			if _, ok := out[n]; !ok {
				out[n] = every
			}
		}
		if !rt.Continue {
			break
		}
	}
	return out
}

func matchAll(ms []suppress.Matcher, a *alerts.Alert, hi suppress.HostInfo) bool {
	for i := range ms {
		if !ms[i].MatchAlert(a, hi) {
			return false
		}
	}
	return true
}
