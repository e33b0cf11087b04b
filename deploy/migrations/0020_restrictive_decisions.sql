-- 0020: the index of restrictive decisions (issue 15, DSA Art 24(5)). One row per recorded
-- decision whose sanction restricts an account (a suspension or an expulsion), written by
-- the restrictive_decisions projection (store/projections_sor.py), so `dueprocess export
-- sor --from --to` reads only the cases with such a decision in the period (by index),
-- never every case stream. No personal data: ids, the decision's time and its kind.

CREATE TABLE restrictive_decisions (
    event_id     uuid PRIMARY KEY,
    stream_id    text NOT NULL,
    effective_at timestamptz NOT NULL,
    kind         text NOT NULL  -- the sanction: suspension | expulsion
);

CREATE INDEX restrictive_decisions_effective_idx
    ON restrictive_decisions (effective_at, stream_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        -- Workers keep it (as case_list); a rebuild empties it.
        GRANT SELECT, INSERT, UPDATE, DELETE ON restrictive_decisions TO dueprocess_app;
    END IF;
END;
$$;
