package tail

// truncatedWhileStopped handles a lineage found shorter than its checkpoint.
func (t *Tailer) truncatedWhileStopped(cp checkpoint, size int64) {
	t.m.truncations.Inc()
}
