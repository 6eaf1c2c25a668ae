-- Deployment history: one row a provider deployment, updated as its phase moves on, and one row
-- a rollback. Kubernetes status holds only the current and previous release; this is the rest.

CREATE TABLE deployment_events (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace              text        NOT NULL,
    deployment             text        NOT NULL,
    revision               text        NOT NULL,
    provider               text        NOT NULL CHECK (provider <> ''),
    provider_deployment_id text,
    url                    text,
    phase                  text        NOT NULL CHECK (phase <> ''),
    started_at             timestamptz NOT NULL DEFAULT now(),
    finished_at            timestamptz,
    message                text,
    CHECK (finished_at IS NULL OR finished_at >= started_at)
);

-- History of one Deployment, newest first.
CREATE INDEX deployment_events_by_deployment
    ON deployment_events (namespace, deployment, started_at DESC);

-- A provider deployment is recorded once, so the controller can upsert by its id after a
-- create whose outcome it did not see.
CREATE UNIQUE INDEX deployment_events_provider_id
    ON deployment_events (provider, provider_deployment_id)
    WHERE provider_deployment_id IS NOT NULL;

CREATE TABLE rollbacks (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    namespace     text        NOT NULL,
    deployment    text        NOT NULL,
    from_revision text        NOT NULL,
    to_revision   text        NOT NULL,
    reason        text        NOT NULL,
    actor         text        NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX rollbacks_by_deployment ON rollbacks (namespace, deployment, at DESC);
