-- Alerts raised by the monitoring rules, with their acknowledge/resolve life cycle.

CREATE TABLE alerts (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule               text        NOT NULL,
    resource_namespace text        NOT NULL,
    resource_kind      text        NOT NULL,
    resource_name      text        NOT NULL,
    severity           text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state              text        NOT NULL DEFAULT 'firing'
                       CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    fired_at           timestamptz NOT NULL DEFAULT now(),
    acknowledged_at    timestamptz,
    acknowledged_by    text,
    resolved_at        timestamptz,
    message            text        NOT NULL DEFAULT '',
    CHECK (state <> 'acknowledged' OR (acknowledged_at IS NOT NULL AND acknowledged_by IS NOT NULL)),
    CHECK (state <> 'resolved' OR resolved_at IS NOT NULL)
);

-- At most one open alert a rule and resource: a rule that keeps firing updates it instead of
-- paging again (INSERT … ON CONFLICT … WHERE state <> 'resolved').
CREATE UNIQUE INDEX alerts_open_dedup
    ON alerts (rule, resource_namespace, resource_kind, resource_name)
    WHERE state <> 'resolved';

CREATE INDEX alerts_by_state ON alerts (state, fired_at DESC);
