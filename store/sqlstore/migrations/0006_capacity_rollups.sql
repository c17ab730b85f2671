-- Capacity planning history (capacity/rollup): performance-counter samples
-- rolled up per series (host and counter, numbered in rollup_series) to 1-minute, 1-hour and 1-day buckets, with
-- an encoded quantile sketch so buckets merge into exact-to-1 % p95s; the
-- load of each organization per host and hour; and the rollup consumer's
-- own stream positions and fencing epoch (stream '' holds the epoch).
CREATE TABLE rollup_series (
    id {{serial_pk}},
    host TEXT NOT NULL,
    counter TEXT NOT NULL,
    role TEXT NOT NULL,
    UNIQUE (host, counter)
);

CREATE TABLE sample_rollups (
    resolution BIGINT NOT NULL,
    series BIGINT NOT NULL,
    bucket BIGINT NOT NULL,
    n BIGINT NOT NULL,
    min_value DOUBLE PRECISION NOT NULL,
    max_value DOUBLE PRECISION NOT NULL,
    sum_value DOUBLE PRECISION NOT NULL,
    sketch BYTEA NOT NULL,
    PRIMARY KEY (resolution, series, bucket)
){{without_rowid}};

CREATE TABLE org_load (
    organization TEXT NOT NULL,
    host TEXT NOT NULL,
    hour BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    users BYTEA NOT NULL,
    PRIMARY KEY (organization, host, hour)
);

CREATE INDEX org_load_time ON org_load (hour);

CREATE TABLE rollup_progress (
    stream TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    epoch BIGINT NOT NULL
);
