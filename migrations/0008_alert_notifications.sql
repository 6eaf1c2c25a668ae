-- Webhook deliveries of alerts: one row per alert, receiver and event (`firing`, `resolved`),
-- so each receiver is told once that an alert fired and once that it resolved, across restarts
-- and leader changes. A row without `delivered_at` is still owed (attempts and the last error
-- say why); receiver names are the keys of the receivers Secret, never their URLs.

CREATE TABLE alert_notifications (
    alert_id        bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    receiver        text        NOT NULL CHECK (receiver <> ''),
    event           text        NOT NULL CHECK (event IN ('firing', 'resolved')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_attempt_at timestamptz,
    delivered_at    timestamptz,
    last_error      text,
    PRIMARY KEY (alert_id, receiver, event)
);

-- The admin listing pages through one namespace's, or one state's, alerts newest first.
CREATE INDEX alerts_by_namespace ON alerts (resource_namespace, id DESC);
CREATE INDEX alerts_by_state_id ON alerts (state, id DESC);
-- Resolve notifications are owed for recently resolved alerts only.
CREATE INDEX alerts_resolved_at ON alerts (resolved_at) WHERE state = 'resolved';

-- The same row-level security as every other table (see 0006).
ALTER TABLE alert_notifications ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    reader text;
    api_role text;
BEGIN
    FOREACH reader IN ARRAY ARRAY['berth_readonly', 'service_role'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = reader) THEN
            EXECUTE format('REVOKE ALL ON alert_notifications FROM %I', reader);
            EXECUTE format('GRANT SELECT ON alert_notifications TO %I', reader);
            EXECUTE format('CREATE POLICY %I ON alert_notifications FOR SELECT TO %I USING (true)',
                           'alert_notifications_' || reader || '_read', reader);
        END IF;
    END LOOP;
    FOREACH api_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = api_role) THEN
            EXECUTE format('REVOKE ALL ON alert_notifications FROM %I', api_role);
        END IF;
    END LOOP;
END
$$;
