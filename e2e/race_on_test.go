//go:build race

package e2e

// raceEnabled: the race detector slows the server several times over, so
// timing bounds are measured without it.
const raceEnabled = true
