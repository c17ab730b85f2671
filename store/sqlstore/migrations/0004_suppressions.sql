-- Maintenance windows and silences. Both are small lists read whole by the
-- evaluator, so the definition is kept as JSON beside the columns the
-- store itself needs.
CREATE TABLE maintenance_windows (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    end_at BIGINT NOT NULL,
    expired_at BIGINT,
    created_at BIGINT NOT NULL
);
