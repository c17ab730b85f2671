-- Enrolled agents (crmwatch agents enroll): the public part of each agent's
-- NATS key, never its seed. A revoked row stays as history; one active
-- credential per subject token (the host name reduced to one NATS token,
-- which is what the permissions are built from), so two names that reduce
-- to the same token cannot both hold one.
CREATE TABLE agent_credentials (
    id {{serial_pk}},
    name TEXT NOT NULL,
    token TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    roles TEXT NOT NULL DEFAULT '',
    enrolled_at BIGINT NOT NULL,
    enrolled_by TEXT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX agent_credentials_active_token_idx ON agent_credentials (token) WHERE revoked_at IS NULL;
