-- Browser sessions of the operator console. The cookie holds a random
-- session id; only its SHA-256 is kept. A session belongs to the operator
-- row (and the token hash) it was opened with: a lookup joins the operator
-- and refuses it once that operator is revoked or their token rotated, so
-- those end every session at once without a sweep.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
