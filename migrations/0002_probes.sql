-- Uptime/latency probe samples and their minute/hour/day rollups.

CREATE TABLE probe_samples (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target      text             NOT NULL,
    at          timestamptz      NOT NULL,
    status_code integer CHECK (status_code BETWEEN 100 AND 599),
    latency_ms  double precision NOT NULL CHECK (latency_ms >= 0),
    tls_ms      double precision CHECK (tls_ms >= 0),
    error_kind  text,
    ok          boolean          NOT NULL
);

-- Range scans of one target over time (rollups, uptime and performance reports).
CREATE INDEX probe_samples_by_target_time ON probe_samples (target, at);
-- Retention prunes by time across all targets; rows arrive in time order, so BRIN is tiny.
CREATE INDEX probe_samples_at_brin ON probe_samples USING brin (at);

-- latency_histogram counts samples per fixed bucket: upper bounds in ms are
-- 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, then +Inf (11 buckets), the same as
-- `berth::store::LATENCY_BUCKETS_MS`. Fixed buckets let an hour be the element-wise sum of its
-- minutes.
CREATE TABLE probe_rollups (
    target            text             NOT NULL,
    resolution        text             NOT NULL CHECK (resolution IN ('minute', 'hour', 'day')),
    bucket_start      timestamptz      NOT NULL,
    count             bigint           NOT NULL CHECK (count >= 0),
    failures          bigint           NOT NULL CHECK (failures >= 0 AND failures <= count),
    latency_histogram bigint[]         NOT NULL CHECK (cardinality(latency_histogram) = 11),
    latency_sum_ms    double precision NOT NULL DEFAULT 0 CHECK (latency_sum_ms >= 0),
    latency_min_ms    double precision,
    latency_max_ms    double precision,
    PRIMARY KEY (target, resolution, bucket_start),
    -- Buckets are aligned in UTC whatever the session time zone, so upserts meet the same row.
    CHECK (date_trunc(resolution, bucket_start AT TIME ZONE 'UTC') = bucket_start AT TIME ZONE 'UTC'),
    CHECK (latency_min_ms IS NULL OR latency_max_ms IS NULL OR latency_min_ms <= latency_max_ms)
);

-- Retention prunes one resolution by age.
CREATE INDEX probe_rollups_by_resolution_time ON probe_rollups (resolution, bucket_start);
