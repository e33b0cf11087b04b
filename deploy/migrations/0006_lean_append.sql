-- 0006: a lean append: one plain SQL statement on the fast path, diagnosis only on refusal.
--
-- The plpgsql function of 0005 cost about a third of the database's share of an append
-- (interpreter, RETURN QUERY, a row lock taken before deciding). The same guarantees now
-- come from one data-modifying statement: the stream head moves only if it is still at
-- the expected version with the expected hash and no key of the batch was destroyed, and
-- the events are inserted only if the head moved. A refused append returns no rows and
-- writes nothing; the client then calls dueprocess_append_refusal, which says why (or
-- returns the stored rows when the batch is a retry of one already appended).
--
-- Concurrency is decided on the streams row: a second writer's UPDATE waits for the
-- first's commit and then no longer matches `version = p_expected`; two first appends
-- meet on the streams primary key and ON CONFLICT DO NOTHING leaves the loser empty.
--
-- recorded_at and effective_at were copies of fields of the hashed document that nothing
-- queried; they are dropped (the document keeps both; nothing stored is lost).

DROP FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[], timestamptz[],
                                timestamptz[], bytea[], bytea[], bigint[]);

ALTER TABLE events DROP COLUMN recorded_at, DROP COLUMN effective_at;

CREATE FUNCTION dueprocess_append(
    p_stream    text,
    p_expected  bigint,
    p_prev_hash bytea,
    p_ids       uuid[],
    p_types     text[],
    p_data      bytea[],
    p_hashes    bytea[],
    p_key_ids   bigint[]
) RETURNS TABLE (global_position bigint, stream_version bigint)
LANGUAGE sql AS $$
    WITH usable AS (
        SELECT cardinality(p_ids) > 0
               AND NOT EXISTS (SELECT 1 FROM subject_keys k
                                WHERE k.key_id = ANY (p_key_ids)
                                  AND k.destroyed_at IS NOT NULL) AS ok
    ), moved AS (
        UPDATE streams s
           SET version = p_expected + cardinality(p_ids),
               head_hash = p_hashes[cardinality(p_hashes)]
          FROM usable
         WHERE usable.ok AND p_expected > 0
           AND s.stream_id = p_stream AND s.version = p_expected AND s.head_hash = p_prev_hash
        RETURNING 1
    ), created AS (
        INSERT INTO streams (stream_id, version, head_hash)
        SELECT p_stream, cardinality(p_ids), p_hashes[cardinality(p_hashes)]
          FROM usable
         WHERE usable.ok AND p_expected = 0 AND p_prev_hash = ''::bytea
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING 1
    ), head AS (
        SELECT 1 FROM moved UNION ALL SELECT 1 FROM created
    )
    INSERT INTO events AS e (stream_id, stream_version, event_id, event_type, data, hash)
    SELECT p_stream, p_expected + u.ord, u.id, u.t, u.d, u.h
      FROM head, unnest(p_ids, p_types, p_data, p_hashes) WITH ORDINALITY AS u(id, t, d, h, ord)
    RETURNING e.global_position, e.stream_version
$$;

-- Why an append returned no rows. Raises unique_violation with the constraint name the
-- client maps (as 0005 did): events_event_id_key (an id reused with other content),
-- events_stream_version_key (stale expected version), subject_keys_destroyed (DETAIL: the
-- key ids) or streams_head_hash (the chain does not start at the stored head). Returns the
-- stored rows when every event of the batch is already in the stream with identical bytes
-- (a retried append), and nothing when nothing is wrong any more (a concurrent first
-- append rolled back): the client then appends again.
CREATE FUNCTION dueprocess_append_refusal(
    p_stream    text,
    p_expected  bigint,
    p_prev_hash bytea,
    p_ids       uuid[],
    p_data      bytea[],
    p_key_ids   bigint[]
) RETURNS TABLE (global_position bigint, stream_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_head bigint;
    v_hash bytea;
    v_n    int := coalesce(array_length(p_ids, 1), 0);
    v_same int;
    v_gone bigint[];
BEGIN
    SELECT s.version, s.head_hash INTO v_head, v_hash
      FROM streams s WHERE s.stream_id = p_stream;
    IF NOT FOUND THEN
        v_head := 0;
        v_hash := ''::bytea;
    END IF;

    IF v_head <> p_expected THEN
        SELECT count(*) INTO v_same
          FROM unnest(p_ids, p_data) AS u(id, d)
          JOIN events e ON e.event_id = u.id AND e.data = u.d AND e.stream_id = p_stream;
        IF v_n > 0 AND v_same = v_n THEN
            RETURN QUERY
                SELECT e.global_position, e.stream_version FROM events e
                 WHERE e.event_id = ANY (p_ids) ORDER BY e.stream_version;
            RETURN;
        END IF;
        IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = ANY (p_ids)) THEN
            RAISE EXCEPTION 'event id reused with different content or position'
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'events_event_id_key';
        END IF;
        RAISE EXCEPTION 'stream % is at version %, not the expected %', p_stream, v_head, p_expected
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'events_stream_version_key';
    END IF;

    IF v_n > 0 AND cardinality(p_key_ids) > 0 THEN
        SELECT array_agg(k.key_id ORDER BY k.key_id) INTO v_gone
          FROM subject_keys k
         WHERE k.key_id = ANY (p_key_ids) AND k.destroyed_at IS NOT NULL;
        IF v_gone IS NOT NULL THEN
            RAISE EXCEPTION 'subject key(s) % destroyed: re-seal under the live keys', v_gone
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'subject_keys_destroyed',
                      DETAIL = array_to_string(v_gone, ',');
        END IF;
    END IF;

    IF v_hash <> p_prev_hash THEN
        RAISE EXCEPTION 'stream % head hash differs from the chain''s start', p_stream
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'streams_head_hash';
    END IF;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT EXECUTE ON FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[],
            bytea[], bytea[], bigint[]) TO dueprocess_app;
        GRANT EXECUTE ON FUNCTION dueprocess_append_refusal(text, bigint, bytea, uuid[],
            bytea[], bigint[]) TO dueprocess_app;
    END IF;
END;
$$;
