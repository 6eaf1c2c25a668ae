-- The platform's own backups of a BackupPolicy's database (Supabase), as the reconciler last
-- read them: the admin listing shows them beside berth's without calling the platform.
-- Replaced as a whole per (namespace, policy, provider) on each read.

CREATE TABLE platform_backups (
    namespace  text        NOT NULL,
    policy     text        NOT NULL,
    provider   text        NOT NULL,
    id         text        NOT NULL,
    project    text        NOT NULL,
    taken_at   timestamptz NOT NULL,
    -- The platform's word (COMPLETED, PENDING, FAILED, …) and berth's outcome for it, so one
    -- `outcome` filter covers both kinds of rows.
    status     text        NOT NULL,
    outcome    text        NOT NULL CHECK (outcome IN ('running', 'complete', 'failed', 'pruned')),
    physical   boolean     NOT NULL,
    seen_at    timestamptz NOT NULL,
    PRIMARY KEY (namespace, policy, provider, id)
);

CREATE INDEX platform_backups_by_time ON platform_backups (taken_at DESC);

-- Same access rules as the other history tables (0006).
ALTER TABLE platform_backups ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    reader text;
    api_role text;
BEGIN
    FOREACH reader IN ARRAY ARRAY['berth_readonly', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
            EXECUTE format('REVOKE ALL ON platform_backups FROM %I', reader);
            EXECUTE format('GRANT SELECT ON platform_backups TO %I', reader);
            EXECUTE format('CREATE POLICY %I ON platform_backups FOR SELECT TO %I USING (true)',
                           'platform_backups_' || reader || '_read', reader);
        END IF;
    END LOOP;
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            EXECUTE format('REVOKE ALL ON platform_backups FROM %I', api_role);
        END IF;
    END LOOP;
END
$$;
