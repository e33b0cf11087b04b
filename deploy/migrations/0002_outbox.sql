-- 0002: the notification outbox. One row per notification id; the dispatching activity
-- claims a row, sends, then marks it sent. The dispatch itself is recorded as an event in
-- the case's notification stream. No personal data here: it lives encrypted in events.

CREATE TABLE outbox (
    notification_id text PRIMARY KEY,
    case_id         text        NOT NULL,
    caused_by       uuid        NOT NULL,
    recipient_role  text        NOT NULL,
    channel         text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    attempts        int         NOT NULL DEFAULT 0
);

CREATE INDEX outbox_unsent_idx ON outbox (created_at) WHERE sent_at IS NULL;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT SELECT, INSERT, UPDATE ON outbox TO dueprocess_app;
    END IF;
END;
$$;
