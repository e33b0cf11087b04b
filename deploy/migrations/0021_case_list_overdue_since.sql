-- A case stays overdue after its deadline's timer has recorded the miss, until the step it
-- waits for happens (issue 15): `overdue_since` is the earliest due time of a missed
-- deadline still outstanding (domain/case/deadlines.py:overdue_since). Overdue at a time T
-- is then least(next_deadline_at, overdue_since) < T (services/case_list.py:overdue_sql).
-- `held_until`: when a held report's hold ends (DSA Art 23), shown in the case list.
-- Filled by the case_list projection; rows written before this migration read NULL until
-- their case records its next event or `dueprocess projections rebuild case_list` runs.
ALTER TABLE case_list ADD COLUMN overdue_since timestamptz;
ALTER TABLE case_list ADD COLUMN held_until timestamptz;
