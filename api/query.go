package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"crmwatch/alerts"
	"crmwatch/store"
)

// Bounds on what a request may carry: a filter never needs more, and a
// longer one is a mistake or an attack, answered 400 rather than guessed at.
const (
	MaxQueryBytes = 4096
	MaxParamBytes = 512
	MaxBodyBytes  = 64 << 10
)

// query parses r's query strictly: malformed percent-encoding or an
// over-long query is an error (url.Values from r.URL.Query() would drop the
// bad part silently and widen the result).
func query(r *http.Request) (url.Values, error) {
	raw := r.URL.RawQuery
	if len(raw) > MaxQueryBytes {
		return nil, fmt.Errorf("query is %d bytes; at most %d", len(raw), MaxQueryBytes)
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errors.New("malformed query: percent-encoding is broken (escape % as %25)")
	}
	for name, vs := range q {
		for _, v := range vs {
			if len(v) > MaxParamBytes {
				return nil, fmt.Errorf("parameter %s is %d bytes; at most %d", name, len(v), MaxParamBytes)
			}
		}
	}
	return q, nil
}

// ParseAlertFilter reads the query of GET /api/v1/alerts: state (comma list
// of new, acknowledged, resolved, or "open"), severity (minimum), host,
// rule (role is read by the API itself: the hosts announcing it), organization (or org), assignee, top (true: only alerts without a
// parent), parent (children of that alert), limit and offset. Unknown
// parameters are errors, so a typo never silently widens the result.
func ParseAlertFilter(q url.Values) (store.AlertFilter, error) {
	f := store.AlertFilter{Limit: DefaultAlertLimit}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		v := strings.TrimSpace(vs[len(vs)-1])
		switch name {
		case "state":
			states, err := parseStates(v)
			if err != nil {
				errs = append(errs, err)
			}
			f.States = states
		case "severity":
			sev, err := alerts.ParseSeverity(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("parameter severity: %w", err))
			}
			f.Severity = sev
		case "host":
			f.Host = v
		case "rule":
			f.Rule = v
		case "organization", "org":
			f.Organization = v
		case "assignee":
			f.Assignee = v
		case "parent":
			f.Parent = v
		case "top":
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("parameter top: %q is not true or false", v))
			}
			f.TopLevel = b
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxAlertLimit {
				errs = append(errs, fmt.Errorf("parameter limit: %q is not a number from 1 to %d", v, MaxAlertLimit))
			}
			f.Limit = n
		case "offset":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				errs = append(errs, fmt.Errorf("parameter offset: %q is not a number from 0", v))
			}
			f.Offset = n
		default:
			errs = append(errs, fmt.Errorf("unknown parameter %q (want state, severity, host, role, rule, organization, assignee, top, parent, limit or offset)", name))
		}
	}
	return f, errors.Join(errs...)
}

func parseStates(v string) ([]alerts.State, error) {
	var out []alerts.State
	for part := range strings.SplitSeq(v, ",") {
		switch st := alerts.State(strings.ToLower(strings.TrimSpace(part))); st {
		case alerts.StateNew, alerts.StateAcknowledged, alerts.StateResolved:
			if !slices.Contains(out, st) {
				out = append(out, st)
			}
		case "open":
			for _, o := range []alerts.State{alerts.StateNew, alerts.StateAcknowledged} {
				if !slices.Contains(out, o) {
					out = append(out, o)
				}
			}
		default:
			return nil, fmt.Errorf("parameter state: %q is not new, acknowledged, resolved or open", part)
		}
	}
	return out, nil
}

// decodeBody reads a JSON body into v, refusing unknown fields and bodies
// over MaxBodyBytes; an empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("request body over %d bytes", MaxBodyBytes)
		}
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: one JSON object expected")
	}
	return nil
}
