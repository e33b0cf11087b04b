-- The case list shows how long each case has been in its current stage (issue 15): when
-- the event that moved the case into that stage took effect. Filled by the case_list
-- projection from the fold; rows written before this migration read NULL until their case
-- records its next event or `dueprocess projections rebuild case_list` runs.
ALTER TABLE case_list ADD COLUMN stage_entered_at timestamptz;

-- Backlog ageing counts open cases by stage and age.
CREATE INDEX case_list_stage_entered_idx ON case_list (stage, stage_entered_at);
