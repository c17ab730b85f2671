-- The alert spine: operators' fields on alerts, root-cause grouping,
-- an organization index, the outbox of committed changes, and the
-- evaluator's fencing token, stream positions and dedup marks.
ALTER TABLE alerts ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN suppressed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- Lists are newest first; these let a page be read in index order (and
-- stop after its limit) instead of sorting every matching alert.
CREATE INDEX alerts_parent_idx ON alerts (parent_id, last_seen, id);
CREATE INDEX alerts_seen_idx ON alerts (last_seen, id);

-- alert_orgs indexes alerts by organization for the organization filter
-- (filled from alerts.organizations by the Go step of this migration).
CREATE TABLE alert_orgs (
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    organization TEXT NOT NULL,
    PRIMARY KEY (alert_id, organization)
);
CREATE INDEX alert_orgs_org_idx ON alert_orgs (organization);

-- alert_changes is the outbox: every committed change, numbered in commit
-- order, until it is published on the alert-changes stream (and kept a
-- while after for late consumers).
CREATE TABLE alert_changes (
    seq {{serial_pk}},
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    data TEXT NOT NULL,
    published INTEGER NOT NULL DEFAULT 0,
    committed_at BIGINT NOT NULL
);
CREATE INDEX alert_changes_pending_idx ON alert_changes (published, seq);

-- evaluator holds the fencing token of the server evaluating rules.
CREATE TABLE evaluator (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL,
    holder TEXT NOT NULL,
    since BIGINT NOT NULL
);

-- stream_positions: the last stream sequence whose effects are committed.
CREATE TABLE stream_positions (
    stream TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

-- ingest_marks: per agent file, the record offsets already evaluated.
CREATE TABLE ingest_marks (
    mark_key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX ingest_marks_updated_idx ON ingest_marks (updated_at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
