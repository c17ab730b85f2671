-- receiver_health is, per notification receiver, how many sends in a row
-- it refused and since when, shared by every server: the evaluator raises
-- an alert about a receiver that keeps refusing from it, whichever server
-- saw the refusals, and resolves it when any server's send gets through.
CREATE TABLE receiver_health (
    receiver TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    failing_since BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
-- Pruning reads finished deliveries by age.
CREATE INDEX notification_log_done_idx ON notification_log (done_at);
