package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"crmwatch/capacity/forecast"
)

// The reference architecture of the CRM planning guide, as issue 15 of
// this project quotes it (the figures are not in the CRM domain
// reference): each tier's users and organizations at 60 % average
// concurrency; web-application servers' memory grows with the number of
// organizations up to 16 GB; the IIS cache starts garbage collection at
// 10 GB, which stalls dual-core web servers; workflow-heavy farms move the
// platform (asynchronous) role to servers of its own; reporting-heavy farms
// move Reporting Services to a dedicated server; the database server's
// memory is at least the database size expected a year ahead plus 1 GB.
const (
	PlanningGuide      = "Dynamics CRM planning guide, reference architecture (figures as quoted in issue 15)"
	Concurrency        = 0.6
	WebMemoryCapGB     = 16
	IISCacheGCGB       = 10
	DatabaseMemoryPlus = 1 // GB above the database size a year ahead
)

// TierSpec is one reference tier.
type TierSpec struct {
	Name          string `json:"name"`
	Users         int    `json:"users"`
	Organizations int    `json:"organizations"`
}

// Tiers are the reference tiers, smallest first.
var Tiers = []TierSpec{
	{Name: "Entry", Users: 200, Organizations: 20},
	{Name: "Middle", Users: 750, Organizations: 150},
	{Name: "Upper", Users: 10_000, Organizations: 50},
}

// Beyond names a farm no reference tier holds.
const Beyond = "beyond the reference architectures"

// Tier is the tier advice with the figures behind it.
type Tier struct {
	Current         string   `json:"current"`
	Limits          TierSpec `json:"limits"`
	ConcurrentUsers int      `json:"concurrent_users"`
	// Users estimates the named users: the busiest hour's distinct users
	// over the 60 % average concurrency the tiers assume.
	Users            int        `json:"users"`
	Organizations    int        `json:"organizations"`
	UsersHeadroomPct float64    `json:"users_headroom_pct"`
	OrgsHeadroomPct  float64    `json:"organizations_headroom_pct"`
	Next             string     `json:"next,omitempty"`
	NextInDays       *float64   `json:"next_in_days"`
	NextAt           *time.Time `json:"next_at,omitempty"`
	NextMethod       string     `json:"next_method,omitempty"`
	ScaleFirst       string     `json:"scale_first,omitempty"`
	ScaleFirstWhy    string     `json:"scale_first_why,omitempty"`
	Advice           []Advice   `json:"advice"`
	Source           string     `json:"source"`
}

// Advice is one recommendation with the figures that support it.
type Advice struct {
	Topic   string   `json:"topic"`
	Text    string   `json:"text"`
	Figures []string `json:"figures"`
}

// tierFor is the smallest tier holding users and organizations.
func tierFor(users, orgs int) (TierSpec, bool) {
	for _, t := range Tiers {
		if users <= t.Users && orgs <= t.Organizations {
			return t, true
		}
	}
	return TierSpec{}, false
}

func advise(r *Report, dailyUsers []float64, from time.Time, horizon int) Tier {
	t := Tier{Source: PlanningGuide, Organizations: len(r.Organizations)}
	for _, v := range dailyUsers {
		t.ConcurrentUsers = max(t.ConcurrentUsers, int(v))
	}
	t.Users = int(math.Ceil(float64(t.ConcurrentUsers) / Concurrency))
	spec, ok := tierFor(t.Users, t.Organizations)
	if !ok {
		t.Current = Beyond
	} else {
		t.Current, t.Limits = spec.Name, spec
		t.UsersHeadroomPct = 100 * (1 - float64(t.Users)/float64(spec.Users))
		t.OrgsHeadroomPct = 100 * (1 - float64(t.Organizations)/float64(spec.Organizations))
		// When do the users outgrow it? Forecast the daily estimate.
		named := make([]float64, len(dailyUsers))
		for i, v := range dailyUsers {
			named[i] = math.Ceil(v / Concurrency)
			if v == 0 {
				named[i] = math.NaN()
			}
		}
		limit := float64(spec.Users)
		f := forecast.Forecast(named, from, 24*time.Hour, forecast.Options{Horizon: horizon, Threshold: &limit})
		t.NextMethod = f.Method
		if f.DaysToThreshold != nil {
			t.NextInDays, t.NextAt = f.DaysToThreshold, f.CrossesAt
			if i := slices.IndexFunc(Tiers, func(x TierSpec) bool { return x.Name == spec.Name }); i+1 < len(Tiers) {
				t.Next = Tiers[i+1].Name
			} else {
				t.Next = Beyond
			}
		}
	}
	t.Advice = append(t.Advice, Advice{Topic: "tier",
		Text: tierText(t),
		Figures: []string{
			fmt.Sprintf("busiest hour: %d distinct users; at %.0f %% concurrency ≈ %d users", t.ConcurrentUsers, 100*Concurrency, t.Users),
			fmt.Sprintf("%d organizations with load", t.Organizations),
			tierLimits(),
		}})
	// The role to scale first: the server whose indicator crosses its
	// threshold soonest.
	for _, f := range r.Forecasts {
		if f.DaysToThreshold != nil {
			t.ScaleFirst = f.Role
			t.ScaleFirstWhy = fmt.Sprintf("%s on %s reaches %s %s in %.0f days (%s; daily p95 now %s)",
				f.Name, f.Host, fmtValue(*f.Threshold, f.Unit), f.Unit, *f.DaysToThreshold, f.Method, fmtValue(lastValue(f.History), f.Unit))
			t.Advice = append(t.Advice, Advice{Topic: "scale first", Text: "Scale the " + roleLabel(f.Role) + " role first.",
				Figures: []string{t.ScaleFirstWhy, f.Source}})
			break
		}
	}
	if t.ScaleFirst == "" {
		t.Advice = append(t.Advice, Advice{Topic: "scale first", Text: fmt.Sprintf("No indicator reaches its threshold within %d days at the current trend.", horizon)})
	}
	t.Advice = append(t.Advice, webMemory(r), asyncAdvice(r), reportingAdvice(r), databaseAdvice(r))
	return t
}

func tierText(t Tier) string {
	if t.Current == Beyond {
		return "No reference tier holds this farm's users and organizations together (Upper holds the users but only 50 organizations): split the organizations over farms."
	}
	s := fmt.Sprintf("%s tier: %.0f %% of its users and %.0f %% of its organizations are left.", t.Current, t.UsersHeadroomPct, t.OrgsHeadroomPct)
	if t.NextInDays != nil {
		s += fmt.Sprintf(" At the current growth the users outgrow it in %.0f days (%s): plan the %s tier.", *t.NextInDays, t.NextAt.Format("2006-01-02"), t.Next)
	} else {
		s += " The users do not outgrow it within the forecast horizon."
	}
	return s
}

func tierLimits() string {
	var parts []string
	for _, t := range Tiers {
		parts = append(parts, fmt.Sprintf("%s ≤ %d users and %d organizations", t.Name, t.Users, t.Organizations))
	}
	return "reference tiers at 60 % concurrency: " + strings.Join(parts, "; ")
}

func webMemory(r *Report) Advice {
	a := Advice{Topic: "web-server memory",
		Text: fmt.Sprintf("Memory on CRM web-application servers grows with the number of organizations, up to %d GB; the IIS cache starts garbage collection at %d GB, which stalls dual-core web servers.", WebMemoryCapGB, IISCacheGCGB)}
	web := 0
	for _, g := range r.Servers {
		if hasRole(g.Role, "AppServer") {
			web++
			for _, s := range g.Stats {
				switch s.Indicator {
				case "w3wp_private":
					a.Figures = append(a.Figures, fmt.Sprintf("%s: IIS worker peak %.1f GB (GC stall from %d GB)", g.Name, s.Peak/(1<<30), IISCacheGCGB))
					if s.Peak >= 0.8*IISCacheGCGB*(1<<30) {
						a.Text += " " + g.Name + " is within 20 % of it: add web servers or cores."
					}
				case "memory":
					a.Figures = append(a.Figures, fmt.Sprintf("%s: committed memory p95 %.0f %%, peak %.0f %%, %d organizations", g.Name, s.P95, s.Peak, g.Organizations))
				}
			}
		}
	}
	a.Figures = append(a.Figures, fmt.Sprintf("%d organizations on %d web-application servers", len(r.Organizations), web))
	return a
}

func asyncAdvice(r *Report) Advice {
	a := Advice{Topic: "workflow"}
	shared := false
	var backlog float64
	for _, g := range r.Servers {
		if hasRole(g.Role, "AsyncService") && hasRole(g.Role, "AppServer") {
			shared = true
		}
		for _, s := range g.Stats {
			if s.Indicator == "async_backlog" {
				backlog = max(backlog, s.P95)
				a.Figures = append(a.Figures, fmt.Sprintf("%s: async backlog p95 %.0f, peak %.0f, trend %+.0f %%/30 days", g.Name, s.P95, s.Peak, s.TrendPct))
			}
		}
	}
	switch {
	case shared && backlog > 100:
		a.Text = "Workflow-heavy: move the asynchronous (platform) role to servers of its own."
	case shared:
		a.Text = "The asynchronous role shares servers with the web application; move it to its own servers if workflows grow."
	default:
		a.Text = "The asynchronous (platform) role already runs on servers of its own."
	}
	return a
}

func reportingAdvice(r *Report) Advice {
	for _, g := range r.Servers {
		if hasRole(g.Role, "SrsDataConnector") {
			return Advice{Topic: "reporting", Text: "Reporting-heavy farms move Reporting Services to a dedicated server; " + g.Name + " runs the SRS data connector.",
				Figures: []string{g.Name + ": roles " + g.Role}}
		}
	}
	return Advice{Topic: "reporting", Text: "No Reporting Services server is monitored: reporting-heavy farms move Reporting Services to a dedicated server."}
}

func databaseAdvice(r *Report) Advice {
	a := Advice{Topic: "database memory",
		Text: fmt.Sprintf("Give the database server at least the database size expected a year ahead plus %d GB of memory. crmwatch does not collect database sizes yet; the buffer figures below show the pressure now.", DatabaseMemoryPlus)}
	for _, g := range r.Servers {
		for _, s := range g.Stats {
			if s.Indicator == "sql_ple" {
				a.Figures = append(a.Figures, fmt.Sprintf("%s: page life expectancy p95 %.0f s, lowest hour's minimum not shown; trend %+.0f %%/30 days", g.Name, s.P95, s.TrendPct))
			}
		}
	}
	return a
}

func roleLabel(r string) string {
	if r == "" {
		return "(unknown)"
	}
	return r
}

func lastValue(h []DayValue) float64 {
	for i := len(h) - 1; i >= 0; i-- {
		if !math.IsNaN(h[i].Value) {
			return h[i].Value
		}
	}
	return math.NaN()
}

// fmtValue prints a value with precision fitting its size.
func fmtValue(v float64, unit string) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case unit == "bytes":
		return fmt.Sprintf("%.2f GB", v/(1<<30))
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
