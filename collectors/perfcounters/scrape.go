package perfcounters

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"crmwatch/event"
	"crmwatch/secret"
)

// maxScrapeBytes bounds one metrics page; exporters write a few hundred KB.
const maxScrapeBytes = 32 << 20

// scraper reads one Prometheus text-format target and maps its series
// onto counter paths. Rate mappings keep the previous value per path.
type scraper struct {
	cfg    ScrapeConfig
	target string // the URL as metrics and logs show it (redacted)
	client *http.Client
	prev   map[string]ratePoint
}

type ratePoint struct {
	v  float64
	at time.Time
}

func newScraper(cfg ScrapeConfig, interval time.Duration) *scraper {
	return &scraper{
		cfg:    cfg,
		target: cfg.URL.String(),
		client: &http.Client{Timeout: cfg.timeout(interval)},
		prev:   map[string]ratePoint{},
	}
}

// scrapeResult is what one scrape produced.
type scrapeResult struct {
	readings []Reading
	// unmapped counts series a mapping selected but could not turn into a
	// path (a label missing, an invalid path).
	unmapped int
}

func (s *scraper) scrape(ctx context.Context, now time.Time) (scrapeResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.cfg.URL.Reveal(), nil)
	if err != nil {
		return scrapeResult{}, fmt.Errorf("scrape %s: %s", s.target, secret.Scrub(err.Error(), s.cfg.BearerToken))
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	if !s.cfg.BearerToken.IsZero() {
		req.Header.Set("Authorization", "Bearer "+s.cfg.BearerToken.Reveal())
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// net/http errors repeat the URL: show it redacted.
		msg := strings.ReplaceAll(err.Error(), s.cfg.URL.Reveal(), s.target)
		return scrapeResult{}, fmt.Errorf("scrape %s: %s", s.target, secret.Scrub(msg, s.cfg.BearerToken))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return scrapeResult{}, fmt.Errorf("scrape %s: HTTP %s", s.target, resp.Status)
	}
	return s.parse(io.LimitReader(resp.Body, maxScrapeBytes), now)
}

// parse reads a text exposition and applies the mappings.
func (s *scraper) parse(r io.Reader, now time.Time) (scrapeResult, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return scrapeResult{}, fmt.Errorf("scrape %s: malformed exposition: %w", s.target, err)
	}
	return s.apply(fams, now), nil
}

// apply maps the families; series mapping to one path are added up.
func (s *scraper) apply(fams map[string]*dto.MetricFamily, now time.Time) scrapeResult {
	var res scrapeResult
	sums := map[string]*Reading{}
	var order []string
	for i := range s.cfg.Mappings {
		m := &s.cfg.Mappings[i]
		fam := fams[m.Metric]
		if fam == nil {
			continue
		}
		for _, metric := range fam.GetMetric() {
			v, ok := metricValue(metric)
			if !ok || !labelsMatch(metric, m.Match) {
				continue
			}
			path, ok := mapPath(m.Path, metric)
			if !ok {
				res.unmapped++
				continue
			}
			cp, err := event.ParseCounterPath(path)
			if err != nil {
				res.unmapped++
				continue
			}
			if m.Rate {
				k := m.Metric + "\x00" + seriesID(metric)
				prev, had := s.prev[k]
				s.prev[k] = ratePoint{v, now}
				dt := now.Sub(prev.at).Seconds()
				if !had || dt <= 0 || v < prev.v {
					continue // first scrape, or a counter reset
				}
				v = (v - prev.v) / dt
			}
			v *= m.scale()
			k := pathKey(cp)
			if r := sums[k]; r != nil {
				r.Value += v
				continue
			}
			sums[k] = &Reading{Path: cp, Value: v}
			order = append(order, k)
		}
	}
	for _, k := range order {
		res.readings = append(res.readings, *sums[k])
	}
	return res
}

// metricValue is the value of a gauge, counter or untyped series.
func metricValue(m *dto.Metric) (float64, bool) {
	var v float64
	switch {
	case m.Gauge != nil:
		v = m.Gauge.GetValue()
	case m.Counter != nil:
		v = m.Counter.GetValue()
	case m.Untyped != nil:
		v = m.Untyped.GetValue()
	default:
		return 0, false // summaries and histograms have no one value
	}
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k {
				found = l.GetValue() == v
				break
			}
		}
		if !found && v != "" {
			return false
		}
	}
	return true
}

// mapPath fills {label} placeholders from the series' labels.
func mapPath(tmpl string, m *dto.Metric) (string, bool) {
	ok := true
	out := fillTemplate(tmpl, func(name string) (string, bool) {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue(), true
			}
		}
		ok = false
		return "", false
	})
	return out, ok
}

// fillTemplate replaces every {name} in tmpl by lookup(name); a name the
// lookup does not know is left empty.
func fillTemplate(tmpl string, lookup func(string) (string, bool)) string {
	if !strings.Contains(tmpl, "{") {
		return tmpl
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(tmpl[:i])
		v, _ := lookup(tmpl[i+1 : i+j])
		b.WriteString(v)
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// seriesID identifies a series by its sorted labels (for rate state).
func seriesID(m *dto.Metric) string {
	ls := make([]string, 0, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		ls = append(ls, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(ls)
	return strings.Join(ls, ",")
}
