package eventlog

import (
	"context"
	"fmt"
	"strings"

	"crmwatch/event"
)

// EventSource is the seam to the Windows event-log API (wevtapi.dll):
// live_windows.go implements it with EvtSubscribe, tests with a fake.
type EventSource interface {
	// Subscribe reads channel with an XPath query, starting after
	// bookmark (the XML EvtRender gives for a bookmark) or, when bookmark
	// is "", with the events that arrive from now on.
	Subscribe(channel, query, bookmark string) (Subscription, error)
}

// Subscription is one channel's open subscription.
type Subscription interface {
	// Next returns up to max rendered events (EvtRender's XML), waiting
	// until at least one is there or ctx ends, and the bookmark that
	// points after the last of them.
	Next(ctx context.Context, max int) (events [][]byte, bookmark string, err error)
	Close() error
}

// Query is the XPath filter EvtSubscribe gets for a channel: its sources
// (every source when there are none) at minLevel and above. Windows
// levels: 1 critical, 2 error, 3 warning, 4 information (and 0, what
// classic sources write for information), 5 verbose.
func Query(sources []string, minLevel event.Level) string {
	var conds []string
	if len(sources) > 0 {
		names := make([]string, len(sources))
		for i, s := range sources {
			names[i] = fmt.Sprintf("@Name='%s'", s) // Validate refuses quotes in names
		}
		conds = append(conds, "Provider["+strings.Join(names, " or ")+"]")
	}
	var levels []string
	switch minLevel {
	case event.LevelError:
		levels = []string{"1", "2"}
	case event.LevelWarning:
		levels = []string{"1", "2", "3"}
	case event.LevelInfo:
		levels = []string{"0", "1", "2", "3", "4"}
	}
	if len(levels) > 0 {
		parts := make([]string, len(levels))
		for i, l := range levels {
			parts[i] = "Level=" + l
		}
		conds = append(conds, "("+strings.Join(parts, " or ")+")")
	}
	if len(conds) == 0 {
		return "*"
	}
	return "*[System[" + strings.Join(conds, " and ") + "]]"
}
