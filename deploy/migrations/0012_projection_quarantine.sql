-- 0012: projections never die silently. An event a projection cannot apply is set aside
-- here with its error (the projection goes on past it, or halts, by configuration), and
-- each checkpoint keeps its error count and last error for `dueprocess projections status`.
-- Rows hold ids, positions and error text only, never payloads: no personal data.

CREATE TABLE projection_quarantine (
    projection      text        NOT NULL,
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_type      text        NOT NULL,
    tx_id           bigint      NOT NULL,
    global_position bigint      NOT NULL,
    error           text        NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, event_id)
);

ALTER TABLE projection_checkpoints
    ADD COLUMN errors        bigint      NOT NULL DEFAULT 0,
    ADD COLUMN last_error    text,
    ADD COLUMN last_error_at timestamptz,
    ADD COLUMN halted        boolean     NOT NULL DEFAULT false;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        -- Insert on quarantine; delete when a rebuild replays the projection from scratch.
        GRANT SELECT, INSERT, DELETE ON projection_quarantine TO dueprocess_app;
        GRANT SELECT, UPDATE (errors, last_error, last_error_at, halted)
            ON projection_checkpoints TO dueprocess_app;
    END IF;
END;
$$;
