-- Operators get an id of their own so that a name can be used again once
-- its operator was revoked: the revoked row stays (crmwatch operators list
-- and the audit log keep the history) and only one active operator may hold
-- a name (the partial unique index). token_rotated_at records the last
-- crmwatch operators rotate.
CREATE TABLE operators_v2 (
    id {{serial_pk}},
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'readonly')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    token_rotated_at BIGINT
);
INSERT INTO operators_v2 (name, role, token_hash, created_at, revoked_at)
    SELECT name, role, token_hash, created_at, revoked_at FROM operators ORDER BY created_at, name;
DROP TABLE operators;
ALTER TABLE operators_v2 RENAME TO operators;
CREATE UNIQUE INDEX operators_active_name_idx ON operators (name) WHERE revoked_at IS NULL;
CREATE INDEX operators_name_idx ON operators (name, id);
