package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"crmwatch/capacity/rollup"
	"crmwatch/store"
)

// The capacity rollups (capacity/rollup): buckets are merged into what is
// stored (read, merge, write in the one writer transaction), so a flush
// carries only deltas and a bucket may be written by many flushes.

// RollupProgress returns the rollup consumer's stream positions and the
// latest epoch recorded.
func (s *Store) RollupProgress(ctx context.Context) (map[string]uint64, int64, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT stream, seq, epoch FROM rollup_progress`)
	if err != nil {
		return nil, 0, fmt.Errorf("read rollup progress from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	pos, epoch := map[string]uint64{}, int64(0)
	for rows.Next() {
		var stream string
		var seq, ep int64
		if err := rows.Scan(&stream, &seq, &ep); err != nil {
			return nil, 0, err
		}
		if stream != "" {
			pos[stream] = uint64(seq)
		}
		epoch = max(epoch, ep)
	}
	return pos, epoch, rows.Err()
}

// FenceRollup records that the rollup consumer runs under epoch; an older
// epoch is refused with store.ErrFenced.
func (s *Store) FenceRollup(ctx context.Context, epoch int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.fenceRollup(ctx, tx, epoch, true) })
}

func (s *Store) fenceRollup(ctx context.Context, tx *sql.Tx, epoch int64, take bool) error {
	var cur int64
	err := tx.QueryRowContext(ctx, `SELECT epoch FROM rollup_progress WHERE stream = ''`+s.dialect.lockRow).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if !take {
			return fmt.Errorf("%w (no rollup consumer recorded; FenceRollup first)", store.ErrFenced)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rollup_progress (stream, seq, epoch) VALUES ('', 0, $1)`, epoch)
		return err
	case err != nil:
		return fmt.Errorf("read rollup epoch: %w", err)
	case cur > epoch, !take && cur != epoch:
		return fmt.Errorf("%w (rollup epoch %d, this server's is %d)", store.ErrFenced, cur, epoch)
	}
	if take && cur != epoch {
		_, err = tx.ExecContext(ctx, `UPDATE rollup_progress SET epoch = $1 WHERE stream = ''`, epoch)
	}
	return err
}

// CommitRollup merges a flush into the store with the positions it
// reaches, in one transaction. Epoch 0 with no positions is a back-fill,
// written without fencing (no consumer may run on the store meanwhile:
// the data directory's lock sees to it).
func (s *Store) CommitRollup(ctx context.Context, c rollup.Commit) error {
	var fresh map[[2]string]seriesEntry
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if c.Epoch != 0 || len(c.Positions) > 0 {
			if err := s.fenceRollup(ctx, tx, c.Epoch, false); err != nil {
				return err
			}
		}
		var err error
		if fresh, err = s.mergeSeries(ctx, tx, c.Series); err != nil {
			return err
		}
		if err := s.mergeOrgs(ctx, tx, c.Orgs); err != nil {
			return err
		}
		for stream, seq := range c.Positions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_progress (stream, seq, epoch) VALUES ($1, $2, $3)
				ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, epoch = excluded.epoch`, stream, int64(seq), c.Epoch); err != nil {
				return fmt.Errorf("store rollup position of %s: %w", stream, err)
			}
		}
		return nil
	})
	if err == nil {
		s.series.put(fresh)
	}
	return err
}

// seriesCache maps (host, counter) to its rollup_series id and role; it
// only holds rows committed, so a rolled-back transaction leaves no id
// behind that names nothing.
type seriesCache struct {
	mu  sync.Mutex
	ids map[[2]string]seriesEntry
}

type seriesEntry struct {
	id   int64
	role string
}

func (c *seriesCache) get(host, counter string) (seriesEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.ids[[2]string{host, counter}]
	return e, ok
}

func (c *seriesCache) put(m map[[2]string]seriesEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = map[[2]string]seriesEntry{}
	}
	for k, e := range m {
		c.ids[k] = e
	}
}

// seriesIDs resolves every row's series in tx, creating the new ones and
// updating a changed role; the entries it looked up are returned for the
// cache once the transaction committed.
func (s *Store) seriesIDs(ctx context.Context, tx *sql.Tx, rows []rollup.SeriesRow) ([]int64, map[[2]string]seriesEntry, error) {
	ids := make([]int64, len(rows))
	fresh := map[[2]string]seriesEntry{}
	for i := range rows {
		r := &rows[i]
		k := [2]string{r.Host, r.Counter}
		e, ok := fresh[k]
		if !ok {
			e, ok = s.series.get(r.Host, r.Counter)
		}
		if !ok {
			err := tx.QueryRowContext(ctx, `SELECT id, role FROM rollup_series WHERE host = $1 AND counter = $2`, r.Host, r.Counter).Scan(&e.id, &e.role)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				e.role = r.Role
				if err := tx.QueryRowContext(ctx, `INSERT INTO rollup_series (host, counter, role) VALUES ($1, $2, $3) RETURNING id`,
					r.Host, r.Counter, r.Role).Scan(&e.id); err != nil {
					return nil, nil, fmt.Errorf("add series %s %s: %w", r.Host, r.Counter, err)
				}
			case err != nil:
				return nil, nil, fmt.Errorf("read series %s %s: %w", r.Host, r.Counter, err)
			}
			fresh[k] = e
		}
		if r.Role != "" && r.Role != e.role {
			if _, err := tx.ExecContext(ctx, `UPDATE rollup_series SET role = $1 WHERE id = $2`, r.Role, e.id); err != nil {
				return nil, nil, fmt.Errorf("update series %s %s: %w", r.Host, r.Counter, err)
			}
			e.role = r.Role
			fresh[k] = e
		}
		ids[i] = e.id
	}
	return ids, fresh, nil
}

// readChunk is how many series one read of a bucket's stored rows names.
// The key is (resolution, series, bucket), so "series IN (...)" with the
// other two fixed is one index probe per series on both engines; a read by
// bucket time alone would scan every series' history at that resolution,
// which made a back-fill quadratic in its length.
const readChunk = 256

// upsertRows is how many rows one INSERT statement carries.
const upsertRows = 64

type bucketID struct {
	series, bucket int64
}

func (s *Store) mergeSeries(ctx context.Context, tx *sql.Tx, rows []rollup.SeriesRow) (map[[2]string]seriesEntry, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids, fresh, err := s.seriesIDs(ctx, tx, rows)
	if err != nil {
		return nil, err
	}
	type bucketKey struct {
		res    rollup.Resolution
		bucket int64
	}
	byBucket := map[bucketKey][]int{}
	for i := range rows {
		k := bucketKey{rows[i].Res, rows[i].Bucket}
		byBucket[k] = append(byBucket[k], i)
	}
	const cols = "n, min_value, max_value, sum_value, sketch, series, bucket"
	for k, idx := range byBucket {
		stored := map[bucketID]*rollup.Agg{}
		for lo := 0; lo < len(idx); lo += readChunk {
			chunk := idx[lo:min(lo+readChunk, len(idx))]
			args := make([]any, 0, 2+len(chunk))
			args = append(args, int64(k.res), k.bucket)
			for _, i := range chunk {
				args = append(args, ids[i])
			}
			err := readAggs(ctx, tx, stored, `SELECT `+cols+` FROM sample_rollups WHERE resolution = `+s.params(1, 1)+
				` AND bucket = `+s.params(2, 1)+` AND series IN (`+s.params(3, len(chunk))+`)`, args...)
			if err != nil {
				return nil, fmt.Errorf("read %s rollups at %d: %w", k.res, k.bucket, err)
			}
		}
		for _, i := range idx {
			r := &rows[i]
			if old := stored[bucketID{ids[i], r.Bucket}]; old != nil {
				old.Merge(&r.Agg)
				r.Agg = *old
			}
		}
	}
	const conflict = ` ON CONFLICT (resolution, series, bucket) DO UPDATE SET n = excluded.n,
		min_value = excluded.min_value, max_value = excluded.max_value, sum_value = excluded.sum_value, sketch = excluded.sketch`
	err = s.upsertChunks(ctx, tx, "sample_rollups (resolution, series, bucket, n, min_value, max_value, sum_value, sketch)", conflict, 8, len(rows),
		func(i int, args []any) []any {
			r := &rows[i]
			sk, _ := r.Sketch.MarshalBinary()
			return append(args, int64(r.Res), ids[i], r.Bucket, int64(r.Count), r.Min, r.Max, r.Sum, sk)
		})
	return fresh, err
}

// readAggs adds the buckets a query returns to stored.
func readAggs(ctx context.Context, tx *sql.Tx, stored map[bucketID]*rollup.Agg, query string, args ...any) error {
	rs, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id bucketID
		var a rollup.Agg
		var n int64
		var blob []byte
		if err := rs.Scan(&n, &a.Min, &a.Max, &a.Sum, &blob, &id.series, &id.bucket); err != nil {
			return err
		}
		a.Count = uint64(n)
		if err := a.Sketch.UnmarshalBinary(blob); err != nil {
			return fmt.Errorf("rollup of series %d at %d: %w", id.series, id.bucket, err)
		}
		stored[id] = &a
	}
	return rs.Err()
}

// params is n placeholders from $first on ("?" for SQLite, as in
// upsertChunks), comma-separated.
func (s *Store) params(first, n int) string {
	var q strings.Builder
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		if s.dsn.Engine == EngineSQLite {
			q.WriteByte('?')
		} else {
			fmt.Fprintf(&q, "$%d", first+i)
		}
	}
	return q.String()
}

// upsertChunks inserts n rows of width columns upsertRows at a time; add
// appends row i's values. The statement of a full chunk is prepared once;
// SQLite gets positional "?" placeholders, whose binding does not search
// a name list per parameter as "$n" does.
func (s *Store) upsertChunks(ctx context.Context, tx *sql.Tx, into, conflict string, width, n int, add func(i int, args []any) []any) error {
	text := func(rows int) string {
		var q strings.Builder
		q.WriteString("INSERT INTO " + into + " VALUES ")
		for r := range rows {
			if r > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for c := range width {
				if c > 0 {
					q.WriteByte(',')
				}
				if s.dsn.Engine == EngineSQLite {
					q.WriteByte('?')
				} else {
					fmt.Fprintf(&q, "$%d", r*width+c+1)
				}
			}
			q.WriteByte(')')
		}
		q.WriteString(conflict)
		return q.String()
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, upsertRows*width)
	for lo := 0; lo < n; lo += upsertRows {
		hi := min(lo+upsertRows, n)
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = add(i, args)
		}
		var err error
		if hi-lo == upsertRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, text(upsertRows)); err != nil {
					return fmt.Errorf("prepare insert into %s: %w", strings.Fields(into)[0], err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, text(hi-lo), args...)
		}
		if err != nil {
			return fmt.Errorf("store into %s: %w", strings.Fields(into)[0], err)
		}
	}
	return nil
}

func (s *Store) mergeOrgs(ctx context.Context, tx *sql.Tx, rows []rollup.OrgRow) error {
	if len(rows) == 0 {
		return nil
	}
	get, err := tx.PrepareContext(ctx, `SELECT requests, errors, users FROM org_load WHERE organization = $1 AND host = $2 AND hour = $3`)
	if err != nil {
		return err
	}
	defer get.Close()
	put, err := tx.PrepareContext(ctx, `INSERT INTO org_load (organization, host, hour, requests, errors, users) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (organization, host, hour) DO UPDATE SET requests = excluded.requests, errors = excluded.errors, users = excluded.users`)
	if err != nil {
		return err
	}
	defer put.Close()
	for i := range rows {
		r := &rows[i]
		var req, errs int64
		var blob []byte
		err := get.QueryRowContext(ctx, r.Organization, r.Host, r.Hour).Scan(&req, &errs, &blob)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read load of organization %s: %w", r.Organization, err)
		default:
			var old rollup.UserSet
			if err := old.UnmarshalBinary(blob); err != nil {
				return fmt.Errorf("organization %s at %d: %w", r.Organization, r.Hour, err)
			}
			r.Requests += uint64(req)
			r.Errors += uint64(errs)
			old.Merge(r.Users)
			r.Users = old
		}
		users, _ := r.Users.MarshalBinary()
		if _, err := put.ExecContext(ctx, r.Organization, r.Host, r.Hour, int64(r.Requests), int64(r.Errors), users); err != nil {
			return fmt.Errorf("store load of organization %s: %w", r.Organization, err)
		}
	}
	return nil
}

// ScanSeries calls fn for every bucket of resolution res starting in
// [from, to), ordered by host, counter and time.
func (s *Store) ScanSeries(ctx context.Context, res rollup.Resolution, from, to time.Time, fn func(*rollup.SeriesRow) error) error {
	series, err := s.RollupSeries(ctx)
	if err != nil {
		return err
	}
	ranges := make([]rollup.Range, len(series))
	for i, sr := range series {
		ranges[i] = rollup.Range{Host: sr.Host, Counter: sr.Counter, From: from.Unix(), To: to.Unix()}
	}
	return s.ScanRanges(ctx, res, ranges, fn)
}

type seriesKey struct{ host, counter string }

// seriesList is RollupSeries with each series' id.
func (s *Store) seriesList(ctx context.Context) (map[seriesKey]int64, []rollup.SeriesName, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, host, counter, role FROM rollup_series ORDER BY host, counter`)
	if err != nil {
		return nil, nil, fmt.Errorf("read rollup series from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	ids := map[seriesKey]int64{}
	var list []rollup.SeriesName
	for rows.Next() {
		var id int64
		var sr rollup.SeriesName
		if err := rows.Scan(&id, &sr.Host, &sr.Counter, &sr.Role); err != nil {
			return nil, nil, err
		}
		ids[seriesKey{sr.Host, sr.Counter}] = id
		list = append(list, sr)
	}
	return ids, list, rows.Err()
}

// ScanRanges calls fn for every bucket of resolution res in each range, in
// the ranges' order and by time within one; ranges of series the store
// does not hold are skipped. Each range is one read along the table's key
// (resolution, series, bucket), so a report reads only the rows it asks
// for, in order, with no sort.
func (s *Store) ScanRanges(ctx context.Context, res rollup.Resolution, ranges []rollup.Range, fn func(*rollup.SeriesRow) error) error {
	if len(ranges) == 0 {
		return nil
	}
	ids, list, err := s.seriesList(ctx)
	if err != nil {
		return err
	}
	roles := make(map[seriesKey]string, len(list))
	for _, sr := range list {
		roles[seriesKey{sr.Host, sr.Counter}] = sr.Role
	}
	conn, err := s.reader.Conn(ctx)
	if err != nil {
		return fmt.Errorf("read rollups from %s: %w", s.dsn, err)
	}
	defer conn.Close()
	stmt, err := conn.PrepareContext(ctx, `SELECT bucket, n, min_value, max_value, sum_value, sketch FROM sample_rollups
		WHERE resolution = `+s.params(1, 1)+` AND series = `+s.params(2, 1)+` AND bucket >= `+s.params(3, 1)+` AND bucket < `+s.params(4, 1)+`
		ORDER BY bucket`)
	if err != nil {
		return fmt.Errorf("read rollups from %s: %w", s.dsn, err)
	}
	defer stmt.Close()
	var r rollup.SeriesRow
	r.Res = res
	for _, rg := range ranges {
		k := seriesKey{rg.Host, rg.Counter}
		id, ok := ids[k]
		if !ok || rg.From >= rg.To {
			continue
		}
		r.Host, r.Counter, r.Role = rg.Host, rg.Counter, roles[k]
		if err := s.scanRange(ctx, stmt, &r, int64(res), id, rg.From, rg.To, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) scanRange(ctx context.Context, stmt *sql.Stmt, r *rollup.SeriesRow, res, id, from, to int64, fn func(*rollup.SeriesRow) error) error {
	rows, err := stmt.QueryContext(ctx, res, id, from, to)
	if err != nil {
		return fmt.Errorf("read rollups of %s %s from %s: %w", r.Host, r.Counter, s.dsn, err)
	}
	defer rows.Close()
	var blob sql.RawBytes // decoded before the next row: no copy
	for rows.Next() {
		var n int64
		if err := rows.Scan(&r.Bucket, &n, &r.Min, &r.Max, &r.Sum, &blob); err != nil {
			return err
		}
		r.Count = uint64(n)
		if err := r.Sketch.UnmarshalBinary(blob); err != nil {
			return fmt.Errorf("rollup %s %s at %d: %w", r.Host, r.Counter, r.Bucket, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ScanOrgs calls fn for every organization hour starting in [from, to),
// ordered by hour: the order of the index on hour, so no sort (sorting by
// organization cost a 90-day capacity report more than the reading).
func (s *Store) ScanOrgs(ctx context.Context, from, to time.Time, fn func(*rollup.OrgRow) error) error {
	rows, err := s.reader.QueryContext(ctx, `SELECT organization, host, hour, requests, errors, users
		FROM org_load WHERE hour >= $1 AND hour < $2 ORDER BY hour`, from.Unix(), to.Unix())
	if err != nil {
		return fmt.Errorf("read organization load from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	var r rollup.OrgRow
	var blob sql.RawBytes // decoded before the next row: no copy
	for rows.Next() {
		var req, errs int64
		if err := rows.Scan(&r.Organization, &r.Host, &r.Hour, &req, &errs, &blob); err != nil {
			return err
		}
		r.Requests, r.Errors = uint64(req), uint64(errs)
		if err := r.Users.UnmarshalBinary(blob); err != nil {
			return fmt.Errorf("organization %s at %d: %w", r.Organization, r.Hour, err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PruneRollups deletes the buckets older than their resolution's retention
// before now, and organization hours older than rollup.OrgRetention.
func (s *Store) PruneRollups(ctx context.Context, now time.Time, keep rollup.Retention) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for res, d := range keep {
			r, err := tx.ExecContext(ctx, `DELETE FROM sample_rollups WHERE resolution = $1 AND bucket < $2`, int64(res), now.Add(-d).Unix())
			if err != nil {
				return fmt.Errorf("prune %s rollups: %w", res, err)
			}
			k, _ := r.RowsAffected()
			n += k
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM org_load WHERE hour < $1`, now.Add(-rollup.OrgRetention).Unix())
		if err != nil {
			return fmt.Errorf("prune organization load: %w", err)
		}
		k, _ := r.RowsAffected()
		n += k
		return nil
	})
	return n, err
}

// RollupSeries lists every series the rollups hold (host, counter, role),
// ordered by host and counter; the dashboards match their queries' labels
// against it before reading any bucket.
func (s *Store) RollupSeries(ctx context.Context) ([]rollup.SeriesName, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT host, counter, role FROM rollup_series ORDER BY host, counter`)
	if err != nil {
		return nil, fmt.Errorf("read rollup series from %s: %w", s.dsn, err)
	}
	defer rows.Close()
	var out []rollup.SeriesName
	for rows.Next() {
		var n rollup.SeriesName
		if err := rows.Scan(&n.Host, &n.Counter, &n.Role); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ScanSeriesOf is ScanSeries for one series (host and counter), without
// the sketch (the row's Sketch is empty; the dashboards draw count, min,
// mean and max): it reads through the primary key and decodes no sketch,
// so a panel costs what it shows.
func (s *Store) ScanSeriesOf(ctx context.Context, res rollup.Resolution, host, counter string, from, to time.Time, fn func(*rollup.SeriesRow) error) error {
	rows, err := s.reader.QueryContext(ctx, `SELECT r.bucket, s.role, r.n, r.min_value, r.max_value, r.sum_value
		FROM rollup_series s JOIN sample_rollups r ON r.series = s.id
		WHERE s.host = $1 AND s.counter = $2 AND r.resolution = $3 AND r.bucket >= $4 AND r.bucket < $5 ORDER BY r.bucket`,
		host, counter, int64(res), from.Unix(), to.Unix())
	if err != nil {
		return fmt.Errorf("read rollups of %s %s from %s: %w", host, counter, s.dsn, err)
	}
	defer rows.Close()
	r := rollup.SeriesRow{SeriesKey: rollup.SeriesKey{Res: res, Host: host, Counter: counter}}
	for rows.Next() {
		var n int64
		if err := rows.Scan(&r.Bucket, &r.Role, &n, &r.Min, &r.Max, &r.Sum); err != nil {
			return err
		}
		r.Count = uint64(n)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}
