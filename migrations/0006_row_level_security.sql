-- Row-level security, written to run unchanged on plain Postgres and on Supabase.
--
-- berth connects as the owner of these tables. Owners bypass RLS unless it is forced, so berth
-- keeps full access everywhere except audit_log, where RLS is forced and the owner has only
-- SELECT and INSERT policies: UPDATE and DELETE see no rows. (Superusers and BYPASSRLS roles
-- skip RLS altogether; the trigger from 0005 still stops them.)
--
-- On Supabase every table in `public` is reachable through the Data API as `anon` and
-- `authenticated`: with RLS on and no policy for them they see and change nothing, and their
-- default grants are revoked too. `service_role` may read. Roles are cluster-wide and may be
-- missing, so every statement naming one runs only if it exists.

ALTER TABLE deployment_events    ENABLE ROW LEVEL SECURITY;
ALTER TABLE rollbacks            ENABLE ROW LEVEL SECURITY;
ALTER TABLE probe_samples        ENABLE ROW LEVEL SECURITY;
ALTER TABLE probe_rollups        ENABLE ROW LEVEL SECURITY;
ALTER TABLE backups              ENABLE ROW LEVEL SECURITY;
ALTER TABLE backup_verifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts               ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log            ENABLE ROW LEVEL SECURITY;
-- sqlx's own bookkeeping sits in the same schema; it holds nothing secret but is no API's business.
ALTER TABLE _sqlx_migrations     ENABLE ROW LEVEL SECURITY;

-- Append-only even for the owner. CURRENT_USER is the role running migrations: the owner.
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_owner_read ON audit_log FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY audit_log_owner_append ON audit_log FOR INSERT TO CURRENT_USER WITH CHECK (true);

-- A read-only role for dashboards. Creating it needs CREATEROLE; without it berth carries on
-- and an administrator can create the role and re-grant later.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'berth_readonly') THEN
        CREATE ROLE berth_readonly NOLOGIN;
    END IF;
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'berth_readonly not created: % (grant CREATEROLE or create it by hand)', SQLERRM;
    -- Another database in the cluster created it at the same moment.
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END
$$;

DO $$
DECLARE
    t text;
    tables text[] := ARRAY['deployment_events', 'rollbacks', 'probe_samples', 'probe_rollups',
                           'backups', 'backup_verifications', 'alerts', 'audit_log',
                           '_sqlx_migrations'];
    reader text;
    api_role text;
BEGIN
    FOREACH reader IN ARRAY ARRAY['berth_readonly', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
            FOREACH t IN ARRAY tables LOOP
                EXECUTE format('REVOKE ALL ON %I FROM %I', t, reader);
                EXECUTE format('GRANT SELECT ON %I TO %I', t, reader);
                EXECUTE format('CREATE POLICY %I ON %I FOR SELECT TO %I USING (true)',
                               t || '_' || reader || '_read', t, reader);
            END LOOP;
        END IF;
    END LOOP;

    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            FOREACH t IN ARRAY tables LOOP
                EXECUTE format('REVOKE ALL ON %I FROM %I', t, api_role);
            END LOOP;
        END IF;
    END LOOP;
END
$$;
