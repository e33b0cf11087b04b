-- 0005: the append function refuses personal data sealed under a destroyed key.
--
-- Writers cache subject keys for a few seconds. A process that did not perform an erasure
-- would otherwise keep sealing new facts under the destroyed key, and they would read back
-- as erased the moment they are written. The client now passes the key ids its batch is
-- sealed under; if any was destroyed the function raises unique_violation with constraint
-- subject_keys_destroyed BEFORE writing anything, and the client drops those keys, fetches
-- (or creates) the live ones, re-seals and tries again. The check is one primary-key probe
-- per key inside the same round trip.
--
-- The check runs after the version check, so a retry of a batch that is already stored
-- still returns the stored positions (its bytes were sealed under the key of the time).
-- An erasure committing while an append is in flight may still win the race; the fact is
-- then treated like one written just before the erasure.
--
-- p_key_ids defaults to an empty array so a client still passing nine arguments keeps
-- working (without the check) during a rolling upgrade.

DROP FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[], timestamptz[],
                                timestamptz[], bytea[], bytea[]);

CREATE FUNCTION dueprocess_append(
    p_stream    text,
    p_expected  bigint,
    p_prev_hash bytea,
    p_ids       uuid[],
    p_types     text[],
    p_recorded  timestamptz[],
    p_effective timestamptz[],
    p_data      bytea[],
    p_hashes    bytea[],
    p_key_ids   bigint[] DEFAULT '{}'
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
      FROM streams s WHERE s.stream_id = p_stream FOR UPDATE;
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

    IF v_n = 0 THEN
        RETURN;
    END IF;

    IF v_head = 0 THEN
        INSERT INTO streams (stream_id, version, head_hash)
        VALUES (p_stream, v_n, p_hashes[v_n]);
    ELSE
        UPDATE streams SET version = v_head + v_n, head_hash = p_hashes[v_n]
         WHERE stream_id = p_stream;
    END IF;

    RETURN QUERY
        INSERT INTO events AS e (stream_id, stream_version, event_id, event_type,
                                 recorded_at, effective_at, data, hash)
        SELECT p_stream, p_expected + u.ord, u.id, u.t, u.r, u.ef, u.d, u.h
          FROM unnest(p_ids, p_types, p_recorded, p_effective, p_data, p_hashes)
               WITH ORDINALITY AS u(id, t, r, ef, d, h, ord)
        RETURNING e.global_position, e.stream_version;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT EXECUTE ON FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[],
            timestamptz[], timestamptz[], bytea[], bytea[], bigint[]) TO dueprocess_app;
    END IF;
END;
$$;
