-- Backups and the restore tests that prove them. Pruned backups keep their row (status
-- 'pruned') so history and "newest verified backup" stay answerable.

CREATE TABLE backups (
    id           text        PRIMARY KEY DEFAULT gen_random_uuid()::text,
    namespace    text        NOT NULL,
    policy       text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    size_bytes   bigint CHECK (size_bytes >= 0),
    sha256       text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    location     text,
    status       text        NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'complete', 'failed', 'pruned')),
    error        text,
    -- A complete backup can be found and checked.
    CHECK (status <> 'complete'
           OR (completed_at IS NOT NULL AND size_bytes IS NOT NULL
               AND sha256 IS NOT NULL AND location IS NOT NULL)),
    CHECK (completed_at IS NULL OR completed_at >= started_at)
);

CREATE INDEX backups_by_policy ON backups (namespace, policy, started_at DESC);

CREATE TABLE backup_verifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    backup_id     text        NOT NULL REFERENCES backups (id) ON DELETE CASCADE,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    passed        boolean,
    duration_ms   bigint CHECK (duration_ms >= 0),
    failed_checks text[]      NOT NULL DEFAULT '{}',
    message       text,
    -- A verification in progress has neither; a finished one has both.
    CHECK ((finished_at IS NULL) = (passed IS NULL))
);

CREATE INDEX backup_verifications_by_backup ON backup_verifications (backup_id, started_at DESC);
