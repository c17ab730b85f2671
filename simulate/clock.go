package simulate

import (
	"sync"
	"time"
)

// clock is the farm's simulated "now". Idle, it stands at the latest time a
// host reached; during Run it moves with the wall clock times Speed from
// the point Run started.
type clock struct {
	mu    sync.Mutex
	sim   time.Time // simulated time at wall (or now, when idle)
	wall  time.Time // non-zero while Run paces real time
	speed float64
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

func (c *clock) nowLocked() time.Time {
	if c.wall.IsZero() {
		return c.sim
	}
	return c.sim.Add(time.Duration(float64(time.Since(c.wall)) * c.speed))
}

// startRun anchors simulated time to the wall clock.
func (c *clock) startRun() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = time.Now()
}

// stopRun freezes simulated time where Run left it.
func (c *clock) stopRun() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sim = c.nowLocked()
	c.wall = time.Time{}
}

// reached moves the idle clock forward to t (never back).
func (c *clock) reached(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wall.IsZero() && t.After(c.sim) {
		c.sim = t
	}
}
