-- The audit log of admin actions. Append-only: row-level security (0006) hides its rows from
-- UPDATE and DELETE even for the owner, and this trigger makes such attempts, and TRUNCATE
-- (which RLS does not cover), fail loudly instead of silently changing nothing.

CREATE TABLE audit_log (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text        NOT NULL,
    action  text        NOT NULL,
    target  text        NOT NULL,
    detail  jsonb       NOT NULL DEFAULT '{}',
    outcome text        NOT NULL CHECK (outcome <> '')
);

CREATE INDEX audit_log_by_time ON audit_log (at DESC);
CREATE INDEX audit_log_by_target ON audit_log (target, at DESC);

CREATE FUNCTION audit_log_reject_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
