package tail

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// retiredSet holds the checkpoints of lineages not being read: loaded from
// disk and not found yet, or drained and retired. It is indexed by
// fingerprint hash, so matching a new file against thousands of
// checkpoints hashes the file's first bytes once, not once per entry.
type retiredSet struct {
	byID   map[string]checkpoint
	byHash map[string][]string // fp_hash → ids
	lens   map[int]int         // fp_len → how many entries have it
}

func newRetiredSet(cps []checkpoint) *retiredSet {
	s := &retiredSet{byID: map[string]checkpoint{}, byHash: map[string][]string{}, lens: map[int]int{}}
	for _, cp := range cps {
		s.add(cp)
	}
	return s
}

func (s *retiredSet) len() int { return len(s.byID) }

func (s *retiredSet) has(id string) bool {
	_, ok := s.byID[id]
	return ok
}

func (s *retiredSet) add(cp checkpoint) {
	s.remove(cp.ID)
	s.byID[cp.ID] = cp
	s.byHash[cp.FPHash] = append(s.byHash[cp.FPHash], cp.ID)
	s.lens[cp.FPLen]++
}

func (s *retiredSet) remove(id string) (checkpoint, bool) {
	cp, ok := s.byID[id]
	if !ok {
		return checkpoint{}, false
	}
	delete(s.byID, id)
	ids := slices.DeleteFunc(s.byHash[cp.FPHash], func(x string) bool { return x == id })
	if len(ids) == 0 {
		delete(s.byHash, cp.FPHash)
	} else {
		s.byHash[cp.FPHash] = ids
	}
	if s.lens[cp.FPLen]--; s.lens[cp.FPLen] == 0 {
		delete(s.lens, cp.FPLen)
	}
	return cp, true
}

// claim finds and removes the checkpoint of the lineage whose first bytes
// fp starts with (see peek).
func (s *retiredSet) claim(fp []byte) (checkpoint, bool) {
	cp, ok := s.peek(fp)
	if ok {
		s.remove(cp.ID)
	}
	return cp, ok
}

// peek finds the checkpoint of the lineage whose first bytes fp starts
// with, preferring the longest fingerprint, then one that was being
// followed over one already gone, then the most recently seen.
func (s *retiredSet) peek(fp []byte) (checkpoint, bool) {
	lens := make([]int, 0, len(s.lens))
	for l := range s.lens {
		if l <= len(fp) {
			lens = append(lens, l)
		}
	}
	slices.Sort(lens)
	h := sha256.New()
	var sum []byte
	var best checkpoint
	found, at := false, 0
	for _, l := range lens {
		h.Write(fp[at:l]) // the state stays valid after Sum: one pass over fp
		at = l
		sum = h.Sum(sum[:0])
		for _, id := range s.byHash[hex.EncodeToString(sum)] {
			cp := s.byID[id]
			if !found || better(cp, best) {
				best, found = cp, true
			}
		}
	}
	return best, found
}

func better(a, b checkpoint) bool {
	if a.FPLen != b.FPLen {
		return a.FPLen > b.FPLen
	}
	if a.Gone != b.Gone {
		return !a.Gone
	}
	return a.Seen.After(b.Seen)
}

// expire removes the entries last seen before cutoff and returns their ids.
func (s *retiredSet) expire(cutoff time.Time) []string {
	var ids []string
	for id, cp := range s.byID {
		if cp.Seen.Before(cutoff) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		s.remove(id)
	}
	return ids
}

// appendTo appends every entry, ordered by id so snapshots are stable.
func (s *retiredSet) appendTo(cps []checkpoint) []checkpoint {
	start := len(cps)
	for _, cp := range s.byID {
		cps = append(cps, cp)
	}
	slices.SortFunc(cps[start:], func(a, b checkpoint) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return cps
}
