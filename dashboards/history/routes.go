package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"crmwatch/access"
	"crmwatch/api"
	"crmwatch/dashboards"
)

// Paths of the dashboards API.
const (
	ListPath   = "/api/v1/dashboards"
	OnePath    = "/api/v1/dashboards/{id}"
	SeriesPath = "/api/v1/dashboards/{id}/panels/{panel}/series"
)

// DefaultRange is the range of a panel when none is asked for.
const DefaultRange = 24 * time.Hour

// Options wire the routes. Dashboards and Source are required.
type Options struct {
	// Dashboards returns the loaded packs' dashboards (they change on a
	// pack reload).
	Dashboards func() []dashboards.Dashboard
	Source     Source
	// Server records this server's own metrics (nil: panels over them are
	// not recorded).
	Server *Recorder
	Now    func() time.Time
	Logger *slog.Logger
}

// Routes are the dashboards API: the list, one dashboard with the hosts of
// its host variable, and a panel's series over a time range. Every route
// needs an operator allowed to read (access.PermRead); there is no other
// kind of principal.
func Routes(o Options) []api.Route {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := handlers{o}
	return []api.Route{
		{Method: "GET", Pattern: ListPath, Permission: access.PermRead, Handler: http.HandlerFunc(h.list)},
		{Method: "GET", Pattern: OnePath, Permission: access.PermRead, Handler: http.HandlerFunc(h.one)},
		{Method: "GET", Pattern: SeriesPath, Permission: access.PermRead, Handler: http.HandlerFunc(h.series)},
	}
}

type handlers struct{ o Options }

// Summary is a dashboard in the list.
type Summary struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Pack        string   `json:"pack"`
	Roles       []string `json:"roles,omitempty"`
	Panels      int      `json:"panels"`
}

// ListResponse is GET /api/v1/dashboards.
type ListResponse struct {
	Dashboards []Summary `json:"dashboards"`
}

// Dashboard is GET /api/v1/dashboards/{id}.
type Dashboard struct {
	Summary
	Variables []string `json:"variables,omitempty"`
	// Hosts are the choices of the host variable: the hosts the rollups
	// hold, of the dashboard's roles when it names any.
	Hosts  []string `json:"hosts,omitempty"`
	Panels []Panel  `json:"panel_list"`
}

// Panel is a panel as the console draws it.
type Panel struct {
	Key         string   `json:"key"`
	Title       string   `json:"title"`
	Kind        string   `json:"kind"`
	Unit        string   `json:"unit,omitempty"`
	Description string   `json:"description,omitempty"`
	Rules       []string `json:"rules,omitempty"`
	Queries     []Query  `json:"queries"`
}

// Query is one query of a panel; NotRecorded is set when this server
// keeps no history for it.
type Query struct {
	Expr        string `json:"expr"`
	Legend      string `json:"legend,omitempty"`
	NotRecorded string `json:"not_recorded,omitempty"`
}

// SeriesResponse is a panel's data over [From, To).
type SeriesResponse struct {
	Dashboard string        `json:"dashboard"`
	Panel     string        `json:"panel"`
	From      time.Time     `json:"from"`
	To        time.Time     `json:"to"`
	Hosts     []string      `json:"hosts,omitempty"`
	Queries   []QueryResult `json:"queries"`
}

func summary(d dashboards.Dashboard) Summary {
	return Summary{ID: d.ID, Title: d.Title, Description: d.Description, Pack: d.Pack, Roles: d.Roles, Panels: len(d.Panels)}
}

func (h handlers) find(w http.ResponseWriter, r *http.Request) (dashboards.Dashboard, bool) {
	id := r.PathValue("id")
	for _, d := range h.o.Dashboards() {
		if d.ID == id {
			return d, true
		}
	}
	access.WriteError(w, http.StatusNotFound, fmt.Sprintf("no dashboard %q: GET %s lists them", id, ListPath))
	return dashboards.Dashboard{}, false
}

func (h handlers) list(w http.ResponseWriter, _ *http.Request) {
	out := ListResponse{Dashboards: []Summary{}}
	for _, d := range h.o.Dashboards() {
		out.Dashboards = append(out.Dashboards, summary(d))
	}
	writeJSON(w, out)
}

func (h handlers) one(w http.ResponseWriter, r *http.Request) {
	d, ok := h.find(w, r)
	if !ok {
		return
	}
	out := Dashboard{Summary: summary(d), Variables: d.Variables, Panels: []Panel{}}
	for _, p := range d.Panels {
		pn := Panel{Key: p.Key, Title: p.Title, Kind: p.Kind, Unit: p.Unit, Description: p.Description, Rules: p.Rules, Queries: []Query{}}
		for _, q := range p.Queries {
			qq := Query{Expr: q.Expr, Legend: q.Legend}
			var nr *NotRecorded
			if _, err := compile(q, ".*", h.o.Server != nil); errors.As(err, &nr) {
				qq.NotRecorded = nr.Reason
			}
			pn.Queries = append(pn.Queries, qq)
		}
		out.Panels = append(out.Panels, pn)
	}
	if slices.Contains(d.Variables, dashboards.VarHost) {
		names, err := h.o.Source.RollupSeries(r.Context())
		if err != nil {
			h.serverError(w, "listing the recorded hosts", err)
			return
		}
		for _, n := range names {
			if (len(d.Roles) == 0 || slices.Contains(d.Roles, n.Role)) && !slices.Contains(out.Hosts, n.Host) {
				out.Hosts = append(out.Hosts, n.Host)
			}
		}
	}
	writeJSON(w, out)
}

// series answers ?from=…&to=… (RFC 3339 or a duration before now, as
// api.ParseSince reads them; default the last DefaultRange) and any
// number of host=….
func (h handlers) series(w http.ResponseWriter, r *http.Request) {
	d, ok := h.find(w, r)
	if !ok {
		return
	}
	key := r.PathValue("panel")
	i := slices.IndexFunc(d.Panels, func(p dashboards.Panel) bool { return p.Key == key })
	if i < 0 {
		access.WriteError(w, http.StatusNotFound, fmt.Sprintf("dashboard %s has no panel %q: GET %s/%s lists its panels", d.ID, key, ListPath, d.ID))
		return
	}
	rg, err := parseRange(r, h.o.Now())
	if err != nil {
		access.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := SeriesResponse{Dashboard: d.ID, Panel: key, From: rg.From, To: rg.To, Hosts: rg.Hosts, Queries: []QueryResult{}}
	for _, q := range d.Panels[i].Queries {
		res, err := EvaluateWith(r.Context(), h.o.Source, h.o.Server, q, rg)
		if err != nil {
			h.serverError(w, "reading the history of panel "+key, err)
			return
		}
		out.Queries = append(out.Queries, res)
	}
	writeJSON(w, out)
}

// MaxRange bounds a panel's range (the hourly rollups' retention).
const MaxRange = 400 * 24 * time.Hour

func parseRange(r *http.Request, now time.Time) (Range, error) {
	q := r.URL.Query()
	rg := Range{From: now.Add(-DefaultRange), To: now, Hosts: q["host"]}
	var errs []error
	if s := q.Get("from"); s != "" {
		t, err := api.ParseSince(s, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("from: %w", err))
		}
		rg.From = t
	}
	if s := q.Get("to"); s != "" {
		t, err := api.ParseSince(s, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("to: %w", err))
		}
		rg.To = t
	}
	if len(errs) == 0 && !rg.From.Before(rg.To) {
		errs = append(errs, fmt.Errorf("from (%s) must be before to (%s)", rg.From.Format(time.RFC3339), rg.To.Format(time.RFC3339)))
	}
	if len(errs) == 0 && rg.To.Sub(rg.From) > MaxRange {
		errs = append(errs, fmt.Errorf("a range of %s is longer than the %d days the hourly rollups keep", rg.To.Sub(rg.From), int(MaxRange.Hours()/24)))
	}
	return rg, errors.Join(errs...)
}

func (h handlers) serverError(w http.ResponseWriter, what string, err error) {
	h.o.Logger.Error("dashboards: "+what, "err", err)
	access.WriteError(w, http.StatusInternalServerError, what+" failed; the server log has the cause")
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
