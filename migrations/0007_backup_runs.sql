-- What started each backup, and the per-check detail and restore timing of each verification.

ALTER TABLE backups
    ADD COLUMN trigger text NOT NULL DEFAULT 'schedule'
        CHECK (trigger IN ('schedule', 'missed', 'request'));

ALTER TABLE backup_verifications
    ADD COLUMN restore_ms bigint CHECK (restore_ms >= 0),
    -- [{"name", "passed", "expected", "actual", "durationMs", "error"}], in spec order.
    ADD COLUMN checks jsonb NOT NULL DEFAULT '[]'::jsonb;

-- The monitoring listing filters by outcome across policies, newest first.
CREATE INDEX backups_by_status ON backups (status, started_at DESC);
