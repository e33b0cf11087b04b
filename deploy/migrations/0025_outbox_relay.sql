-- 0025: notices queued for the worker's notice relay (services/notice_relay.py, issue 14).
--
-- A decision's local append queues its notices here once its events are committed (ids,
-- role and channel only, as ever: the letters' personal data stays encrypted in the
-- events), answers the decision, and the relay posts them beside it. next_attempt_at marks
-- a row as the relay's: when its sweep may take the row should it still be unsent (the
-- worker stopped before posting, or the post failed). NULL for the rows the dispatch
-- activity writes (it retries them itself) and for rows the relay gave up on (left unsent,
-- for operators, as a dispatch activity that gave up leaves them).
ALTER TABLE outbox ADD COLUMN next_attempt_at timestamptz;

CREATE INDEX outbox_relay_due_idx ON outbox (next_attempt_at)
    WHERE sent_at IS NULL AND next_attempt_at IS NOT NULL;
