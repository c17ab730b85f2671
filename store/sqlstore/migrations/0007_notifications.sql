-- The notification log. notification_log has a row for every notification
-- a receiver was (or is being) sent for a committed alert change: claimed
-- before the send, finished with the result after it, so a restarted or a
-- second server never sends it again. notify_state is, per alert and
-- receiver, what that receiver was last told: the dedup and throttle stages
-- decide from it, and its version makes an older change arriving late
-- (several servers share the stream's consumer) a no-op.
CREATE TABLE notification_log (
    change_seq BIGINT NOT NULL,
    receiver TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    holder TEXT NOT NULL,
    claimed_at BIGINT NOT NULL,
    done_at BIGINT,
    PRIMARY KEY (change_seq, receiver)
);
CREATE INDEX notification_log_alert_idx ON notification_log (alert_id, change_seq);

CREATE TABLE notify_state (
    alert_id TEXT NOT NULL,
    receiver TEXT NOT NULL,
    version BIGINT NOT NULL,
    firing INTEGER NOT NULL,
    severity TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (alert_id, receiver)
);
