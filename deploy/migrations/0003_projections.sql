-- 0003: read models rebuilt from the event log. Each projection's checkpoint is updated
-- in the same transaction as its rows, so a crash never applies an event twice or skips
-- one; dropping a projection's rows and checkpoint rebuilds it from the start.
-- No personal data is stored here: rows hold ids, stages, dates and rights only.

CREATE TABLE projection_checkpoints (
    name            text PRIMARY KEY,
    tx_id           bigint NOT NULL DEFAULT 0,
    global_position bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE case_list (
    case_id            text PRIMARY KEY,
    respondent_id      text,
    complainant_id     text,
    complainant_kind   text,
    stage              text NOT NULL,
    next_deadline_kind text,
    next_deadline_at   timestamptz,
    opened_at          timestamptz,
    updated_at         timestamptz NOT NULL,
    version            bigint NOT NULL,
    people             text[] NOT NULL DEFAULT '{}'  -- everyone with a role in the case
);

CREATE INDEX case_list_respondent_idx ON case_list (respondent_id);
CREATE INDEX case_list_people_idx ON case_list USING gin (people);

CREATE TABLE member_standing (
    member_id         text PRIMARY KEY,
    status            text NOT NULL,
    rights            text[] NOT NULL,
    membership_number text,
    continuous_since  date,
    case_ids          text[] NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL
);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON projection_checkpoints, case_list,
            member_standing TO dueprocess_app;
    END IF;
END;
$$;
