-- Alerts, their history and a bounded sample of associated events.
-- Times are Unix nanoseconds (BIGINT) so both engines store them the same way.
-- {{serial_pk}} is replaced per engine (SQLite rowid, PostgreSQL identity).
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    alert_key TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('new', 'acknowledged', 'resolved')),
    repeat_count BIGINT NOT NULL DEFAULT 0,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    hosts TEXT NOT NULL DEFAULT '[]',
    organizations TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL DEFAULT '',
    cause TEXT NOT NULL DEFAULT '',
    resolution TEXT NOT NULL DEFAULT '',
    fields TEXT NOT NULL DEFAULT '{}',
    event_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alerts_state_seen_idx ON alerts (state, last_seen);
CREATE INDEX alerts_rule_idx ON alerts (rule);

-- alert_hosts indexes alerts by host for the host filter.
CREATE TABLE alert_hosts (
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    PRIMARY KEY (alert_id, host)
);
CREATE INDEX alert_hosts_host_idx ON alert_hosts (host);

CREATE TABLE alert_history (
    id {{serial_pk}},
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    state TEXT NOT NULL,
    severity TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_alert_idx ON alert_history (alert_id, id);

-- alert_events keeps the first and the latest events of an alert; seq numbers
-- every event ever associated (alerts.event_count is the last one).
CREATE TABLE alert_events (
    alert_id TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (alert_id, seq)
);

-- Operators are the only principals; the CHECK refuses any other role.
CREATE TABLE operators (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'readonly')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE audit_log (
    id {{serial_pk}},
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
