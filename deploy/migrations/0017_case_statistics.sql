-- 0017: the statistics read model (issue 14). One row per case: the case's contribution
-- to the transparency statistics (domain/statistics_contribution.py), refolded by the
-- case_statistics projection whenever the case has a new event. `dueprocess stats`, the
-- API's /stats and the console's statistics page sum these rows (a bounded read: no
-- event is read or decrypted per request); the period filter reads reported_at.
-- No personal data: counts, kinds, rule ids, the report's date and durations only.

CREATE TABLE case_statistics (
    stream_id    text PRIMARY KEY,
    reported_at  timestamptz NOT NULL,  -- the report's effective_at
    version      bigint NOT NULL,       -- the case stream version folded
    contribution jsonb NOT NULL
);

CREATE INDEX case_statistics_reported_at_idx ON case_statistics (reported_at);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        -- Workers keep it (as case_list); a rebuild empties it.
        GRANT SELECT, INSERT, UPDATE, DELETE ON case_statistics TO dueprocess_app;
    END IF;
END;
$$;
