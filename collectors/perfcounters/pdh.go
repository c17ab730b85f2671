package perfcounters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"crmwatch/event"
)

// pdhAPI is the part of pdh.dll the collector uses. pdh_windows.go
// implements it over the DLL; tests fake it. Handles are opaque.
type pdhAPI interface {
	OpenQuery() (uintptr, error)
	// AddEnglishCounter adds a counter by its English path (locale
	// independent), wildcard instances allowed.
	AddEnglishCounter(query uintptr, path string) (uintptr, error)
	CollectQueryData(query uintptr) error
	// FormattedArray returns the counter's instances with their values as
	// double (PDH_FMT_DOUBLE|PDH_FMT_NOCAP100), in PDH's order.
	FormattedArray(counter uintptr) ([]pdhItem, error)
	CloseQuery(query uintptr) error
}

// pdhItem is one PDH_FMT_COUNTERVALUE_ITEM_DOUBLE.
type pdhItem struct {
	Name   string
	Status uint32
	Value  float64
}

// PDH status codes (pdhmsg.h).
const (
	pdhCstatusValidData   = 0x00000000
	pdhCstatusNewData     = 0x00000001
	pdhMoreData           = 0x800007D2
	pdhNoData             = 0x800007D5
	pdhCstatusInvalidData = 0xC0000BBA
	pdhInvalidData        = 0xC0000BC6
)

// pdhError is a PDH status returned by a call.
type pdhError struct {
	call   string
	status uint32
}

func (e *pdhError) Error() string { return fmt.Sprintf("%s: PDH status 0x%08X", e.call, e.status) }

// noDataYet reports whether err is what PDH returns for a rate counter
// before its second sample.
func noDataYet(err error) bool {
	var pe *pdhError
	return errors.As(err, &pe) && (pe.status == pdhInvalidData || pe.status == pdhCstatusInvalidData || pe.status == pdhNoData)
}

// retryUnknownAfter is how many reads pass before a counter PDH refused
// (not installed on this host) is tried again: CRM's counters appear once
// its services run or after lodctr /r.
const retryUnknownAfter = 20

// pdhSource reads counters through one PDH query. Rate counters need two
// collections: PDH reports PDH_CSTATUS_INVALID_DATA for them after the
// first one, and those instances are skipped until the next read.
type pdhSource struct {
	api     pdhAPI
	query   uintptr
	open    bool
	added   map[string]uintptr // wanted path (case-folded) → counter handle
	refused map[string]int     // wanted path → reads until the next attempt
	errs    map[string]error   // last refusal per path, for the caller
}

func newPDHSource(api pdhAPI) *pdhSource {
	return &pdhSource{api: api, added: map[string]uintptr{}, refused: map[string]int{}, errs: map[string]error{}}
}

func (s *pdhSource) Read(ctx context.Context, want []event.CounterPath) ([]Reading, error) {
	if !s.open {
		q, err := s.api.OpenQuery()
		if err != nil {
			return nil, fmt.Errorf("pdh: open query: %w", err)
		}
		s.query, s.open = q, true
	}
	for _, w := range want {
		k := pathKey(w)
		if _, ok := s.added[k]; ok {
			continue
		}
		if n := s.refused[k]; n > 0 {
			s.refused[k] = n - 1
			continue
		}
		h, err := s.api.AddEnglishCounter(s.query, w.String())
		if err != nil {
			s.refused[k], s.errs[k] = retryUnknownAfter, err
			continue
		}
		s.added[k] = h
		delete(s.errs, k)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.api.CollectQueryData(s.query); err != nil && !noDataYet(err) {
		return nil, fmt.Errorf("pdh: collect: %w", err)
	}
	var out []Reading
	for _, w := range want {
		h, ok := s.added[pathKey(w)]
		if !ok {
			continue
		}
		items, err := s.api.FormattedArray(h)
		if err != nil {
			if !noDataYet(err) {
				s.errs[pathKey(w)] = err
			}
			continue
		}
		out = append(out, pdhReadings(w, items)...)
	}
	return out, nil
}

// pdhReadings turns PDH's items into readings: duplicate instance names
// get Windows' #N suffixes, invalid values (first sample of a rate
// counter, an instance that just went away) are skipped.
func pdhReadings(w event.CounterPath, items []pdhItem) []Reading {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Name
	}
	names = instanceNames(names)
	out := make([]Reading, 0, len(items))
	for i, it := range items {
		if it.Status != pdhCstatusValidData && it.Status != pdhCstatusNewData {
			continue
		}
		p := w
		p.Machine = ""
		if w.Instance == "*" || (w.Instance != "" && names[i] != "") {
			p.Instance = names[i]
		}
		if w.Instance == "*" && p.Instance == "" {
			continue // a wildcard on an object without instances
		}
		out = append(out, Reading{Path: p, Value: it.Value})
	}
	return out
}

// refusals returns the paths PDH refused with why (for the collector's
// unavailable report).
func (s *pdhSource) refusals() map[string]error { return s.errs }

func (s *pdhSource) Close() error {
	if !s.open {
		return nil
	}
	s.open = false
	s.added = map[string]uintptr{}
	return s.api.CloseQuery(s.query)
}

// primeDelay is how long the collector waits between the priming read
// and the first real one, so rate counters have two samples.
const primeDelay = time.Second
