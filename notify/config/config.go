// Package config is the notify section of the server's configuration
// file: the receivers (one sub-section per kind, each decoded into that
// receiver package's Config), the routes and the pipeline's timings. It
// validates everything at once and builds the receivers and the router;
// it is the one place that knows every receiver kind.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"crmwatch/alerts/suppress"
	"crmwatch/notify"
	"crmwatch/notify/alertmanager"
	"crmwatch/notify/email"
	"crmwatch/notify/snmptrap"
	"crmwatch/notify/webhook"
)

// Section is the notify section:
//
//	notify:
//	  console_url: https://crmwatch.example/   # links in notifications
//	  repeat_interval: 4h                      # reminders of repeating alerts
//	  retry: {initial: 500ms, max: 30s, for: 2m}
//	  failing: {attempts: 3, for: 1m}          # when a receiver's refusals raise an alert
//	  log_retention: 2160h                     # deliveries kept (90 days)
//	  receivers:
//	    - name: noc
//	      webhook: {url: https://hooks.example/crmwatch, secret: …, timeout: 10s}
//	    - name: am
//	      alertmanager: {url: http://alertmanager:9093}
//	    - name: nms
//	      snmp_trap: {target: udp:nms.example:162, version: v2c, community: …}
//	    - name: noc-mail
//	      email: {smtp: mail.example:587, from: …, to: […], username: …, password: …}
//	  routes:                                  # none: every receiver gets everything
//	    - matchers: ["severity=~error|critical"]
//	      receivers: [noc]
//	      continue: false
type Section struct {
	// ConsoleURL is the base of the alert links in notifications ("" sends
	// none).
	ConsoleURL string `yaml:"console_url"`
	// RepeatInterval is how often an alert that keeps repeating is
	// notified again (default notify.DefaultRepeatInterval, 4h).
	RepeatInterval time.Duration `yaml:"repeat_interval"`
	// Retry bounds retries of refused sends (defaults notify.DefaultRetry).
	Retry Retry `yaml:"retry"`
	// Failing says when a receiver keeps refusing, which raises an alert
	// about it (defaults notify.DefaultFailing).
	Failing Failing `yaml:"failing"`
	// LogRetention is how long deliveries stay in the notification log
	// (default notify.DefaultLogRetention).
	LogRetention time.Duration `yaml:"log_retention"`
	Receivers    []Receiver    `yaml:"receivers"`
	// Routes pick receivers by matchers; the first match wins unless it
	// says continue. Without routes every receiver gets every alert.
	Routes []Route `yaml:"routes"`
}

// Retry is notify.Retry in YAML.
type Retry struct {
	Initial time.Duration `yaml:"initial"`
	Max     time.Duration `yaml:"max"`
	For     time.Duration `yaml:"for"`
}

// Failing is notify.Failing in YAML.
type Failing struct {
	Attempts int           `yaml:"attempts"`
	For      time.Duration `yaml:"for"`
}

// Receiver is one receiver: a name and exactly one kind's settings.
type Receiver struct {
	// Name: letters, digits, '-' and '_' (it names the receiver's durable
	// consumer, its metrics and its log entries).
	Name         string               `yaml:"name"`
	Webhook      *webhook.Config      `yaml:"webhook"`
	Alertmanager *alertmanager.Config `yaml:"alertmanager"`
	SNMPTrap     *snmptrap.Config     `yaml:"snmp_trap"`
	Email        *email.Config        `yaml:"email"`
}

// Route is notify.Route in YAML; matchers are written like silences'
// (rule, host, role, group, organization, severity with =, !=, =~, !~).
type Route struct {
	Matchers       []string      `yaml:"matchers"`
	Receivers      []string      `yaml:"receivers"`
	Continue       bool          `yaml:"continue"`
	RepeatInterval time.Duration `yaml:"repeat_interval"`
}

// Kinds are the receiver kinds this build knows.
var Kinds = []string{"webhook", "alertmanager", "snmp_trap", "email"}

// Kind is the kind the receiver's section configures (one of Kinds, or
// "" when it configures none).
func (r Receiver) Kind() string {
	switch {
	case r.Webhook != nil:
		return "webhook"
	case r.Alertmanager != nil:
		return "alertmanager"
	case r.SNMPTrap != nil:
		return "snmp_trap"
	case r.Email != nil:
		return "email"
	}
	return ""
}

// IsZero reports whether the section configures nothing.
func (s Section) IsZero() bool { return len(s.Receivers) == 0 && len(s.Routes) == 0 }

// Validate reports every problem at once, each naming where it is.
func (s Section) Validate() error {
	_, err := s.Build()
	return err
}

// Built is what the section configures, ready to run.
type Built struct {
	Receivers  []notify.Receiver
	Router     *notify.Router
	Retry      notify.Retry
	ConsoleURL string
	// Failing has its defaults filled in.
	Failing notify.Failing
	// LogRetention is the notification log's retention (defaulted).
	LogRetention time.Duration
}

// Build validates the section and builds its receivers and router.
func (s Section) Build() (Built, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.ConsoleURL != "" {
		if u, err := url.Parse(s.ConsoleURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("notify.console_url %q: want an http:// or https:// URL", s.ConsoleURL)
		}
	}
	if s.RepeatInterval < 0 {
		add("notify.repeat_interval: must not be negative")
	}
	if s.Retry.Initial < 0 || s.Retry.Max < 0 || s.Retry.For < 0 {
		add("notify.retry: durations must not be negative")
	}
	if s.Failing.Attempts < 0 || s.Failing.For < 0 {
		add("notify.failing: attempts and for must not be negative (0 takes the default: %d attempts over %s)",
			notify.DefaultFailing().Attempts, notify.DefaultFailing().For)
	}
	if s.LogRetention < 0 {
		add("notify.log_retention: must not be negative (0 takes the default, %s)", notify.DefaultLogRetention)
	} else if s.LogRetention > 0 && s.LogRetention < time.Hour {
		add("notify.log_retention: %s is shorter than an hour; deliveries would vanish from `crmwatch alerts show` before anyone looks (the default is %s)",
			s.LogRetention, notify.DefaultLogRetention)
	}
	b := Built{Retry: notify.Retry{Initial: s.Retry.Initial, Max: s.Retry.Max, For: s.Retry.For}, ConsoleURL: s.ConsoleURL,
		Failing: notify.Failing{Attempts: s.Failing.Attempts, For: s.Failing.For}.WithDefaults(), LogRetention: s.LogRetention}
	if b.LogRetention == 0 {
		b.LogRetention = notify.DefaultLogRetention
	}
	var names []string
	seen := map[string]bool{}
	for i, r := range s.Receivers {
		where := fmt.Sprintf("notify.receivers[%d]", i)
		if r.Name != "" {
			where += " (" + r.Name + ")"
		}
		if err := checkName(r.Name); err != nil {
			add("%s: name: %w", where, err)
		} else if seen[r.Name] {
			add("%s: name: another receiver has it; names must be unique", where)
		}
		seen[r.Name] = true
		names = append(names, r.Name)
		rcv, err := r.build()
		if err != nil {
			errs = append(errs, prefixAll(where+": ", err)...)
			continue
		}
		b.Receivers = append(b.Receivers, rcv)
	}
	var routes []notify.Route
	for i, r := range s.Routes {
		rt := notify.Route{Receivers: r.Receivers, Continue: r.Continue, RepeatInterval: r.RepeatInterval}
		for _, m := range r.Matchers {
			pm, err := suppress.ParseMatcher(m)
			if err != nil {
				add("notify.routes[%d]: %w", i, err)
				continue
			}
			rt.Matchers = append(rt.Matchers, pm)
		}
		routes = append(routes, rt)
	}
	if len(s.Receivers) == 0 && len(s.Routes) > 0 {
		add("notify.routes: there are routes but no receivers; add receivers under notify.receivers")
	}
	router, err := notify.NewRouter(routes, names, s.RepeatInterval)
	if err != nil {
		errs = append(errs, prefixAll("notify.", err)...)
	}
	b.Router = router
	if err := errors.Join(errs...); err != nil {
		return Built{}, err
	}
	return b, nil
}

func (r Receiver) build() (notify.Receiver, error) {
	kinds := 0
	for _, set := range []bool{r.Webhook != nil, r.Alertmanager != nil, r.SNMPTrap != nil, r.Email != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, fmt.Errorf("set exactly one of %v (found %d)", Kinds, kinds)
	}
	switch {
	case r.Webhook != nil:
		if err := r.Webhook.Validate(); err != nil {
			return nil, errors.Join(prefixAll("webhook: ", err)...)
		}
		return webhook.New(r.Name, *r.Webhook), nil
	case r.Alertmanager != nil:
		if err := r.Alertmanager.Validate(); err != nil {
			return nil, errors.Join(prefixAll("alertmanager: ", err)...)
		}
		return alertmanager.New(r.Name, *r.Alertmanager), nil
	case r.SNMPTrap != nil:
		if err := r.SNMPTrap.Validate(); err != nil {
			return nil, errors.Join(prefixAll("snmp_trap: ", err)...)
		}
		return snmptrap.New(r.Name, *r.SNMPTrap), nil
	case r.Email != nil:
		if err := r.Email.Validate(); err != nil {
			return nil, errors.Join(prefixAll("email: ", err)...)
		}
		return email.New(r.Name, *r.Email), nil
	}
	return nil, errors.New("unreachable")
}

func checkName(n string) error {
	if n == "" {
		return errors.New("required (e.g. noc)")
	}
	if len(n) > 64 {
		return fmt.Errorf("%q is longer than 64 characters", n)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%q: only letters, digits, '-' and '_' are allowed", n)
		}
	}
	return nil
}

// prefixAll puts prefix before each of the problems err joins, so every
// line of the report says where it is.
func prefixAll(prefix string, err error) []error {
	var out []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, prefixAll(prefix, e)...)
		}
		return out
	}
	return []error{fmt.Errorf("%s%w", prefix, err)}
}
