-- 0010: least privilege for the application role, and erasure serialised with appends.
--
-- 1. The application role (dueprocess_app) writes the record only through functions that
--    run as the owner (SECURITY DEFINER, with a fixed search_path): it may no longer INSERT
--    into events, INSERT or UPDATE streams, or INSERT or UPDATE subject_keys directly. A
--    compromised or buggy worker can append (by the rules the append enforces), erase and
--    wrap keys, and read; it cannot forge an event with a chosen hash, move a stream head or
--    touch a key except as those functions allow. Read models and the outbox (rebuildable
--    bookkeeping, no personal data) keep their table grants. It may read schema_migrations,
--    so a worker logging in as the application role can check the schema is up to date.
--
-- 2. Every append takes a SHARED advisory lock per data subject whose personal data it
--    seals, and an erasure takes the subject's lock EXCLUSIVE while it checks that no open
--    case names the person and destroys their key. So no case can open (or any fact about
--    the person be written) between the check and the shredding, and an append that waited
--    for an erasure sees it: it is refused. The lock is taken in the append's first
--    statement; its second statement (a VOLATILE SQL function takes a fresh snapshot per
--    statement) then sees every erasure committed before the lock was granted.
--
-- 3. An erased subject stays erased: an append that would create a new key for a subject
--    who has a destroyed key is refused (constraint name subject_erased), and erasing a
--    subject who never had a key leaves a destroyed key row as a tombstone.
--
-- Rolling upgrade: the append's signatures are unchanged (workers of 0006-0009 keep
-- appending, through the 8- and 10-argument forms that forward to the 11-argument one).
-- Workers and CLIs before 0010 erase and wrap keys by UPDATE, which is now refused: erase
-- and wrap with the new release.

-- The advisory lock key of a data subject: 'duep' in the high 32 bits, so it never meets
-- the migration runner's lock (a small number) or another application's.
CREATE FUNCTION dueprocess_subject_lock_key(p_subject text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (x'64756570'::bigint << 32) | (hashtext(p_subject)::bigint & x'ffffffff'::bigint)
$$;

-- Erased subjects are found by their destroyed keys (few; the live-key index excludes them).
CREATE INDEX subject_keys_destroyed_subject_idx ON subject_keys (subject_id)
    WHERE destroyed_at IS NOT NULL;

CREATE OR REPLACE FUNCTION dueprocess_append(
    p_stream        text,
    p_expected      bigint,
    p_prev_hash     bytea,
    p_ids           uuid[],
    p_types         text[],
    p_data          bytea[],
    p_hashes        bytea[],
    p_key_ids       bigint[],
    p_new_key_ids   bigint[],
    p_new_subjects  text[],
    p_new_materials bytea[]
) RETURNS TABLE (global_position bigint, stream_version bigint)
LANGUAGE sql SECURITY DEFINER AS $$
    -- Shared locks of the subjects the batch seals data of (sorted: a fixed order).
    SELECT count(pg_advisory_xact_lock_shared(dueprocess_subject_lock_key(s.subject)))
      FROM (SELECT k.subject_id FROM subject_keys k WHERE k.key_id = ANY (p_key_ids)
            UNION
            SELECT unnest(p_new_subjects)
            ORDER BY 1) AS s(subject);

    WITH usable AS (
        SELECT cardinality(p_ids) > 0
               AND NOT EXISTS (SELECT 1 FROM subject_keys k
                                WHERE k.key_id = ANY (p_key_ids)
                                  AND k.destroyed_at IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM subject_keys k
                                WHERE k.subject_id = ANY (p_new_subjects)
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
    ), new_keys AS (
        INSERT INTO subject_keys (key_id, subject_id, key_material) OVERRIDING SYSTEM VALUE
        SELECT k.id, k.subject, k.material
          FROM head, unnest(p_new_key_ids, p_new_subjects, p_new_materials)
                     AS k(id, subject, material)
    )
    INSERT INTO events AS e (stream_id, stream_version, event_id, event_type, data, hash)
    SELECT p_stream, p_expected + u.ord, u.id, u.t, u.d, u.h
      FROM head, unnest(p_ids, p_types, p_data, p_hashes) WITH ORDINALITY AS u(id, t, d, h, ord)
    RETURNING e.global_position, e.stream_version
$$;

-- Why an append returned no rows, now also naming a subject that was erased (constraint
-- subject_erased, DETAIL: the subject ids). The six-argument form of 0006 forwards here.
CREATE FUNCTION dueprocess_append_refusal(
    p_stream       text,
    p_expected     bigint,
    p_prev_hash    bytea,
    p_ids          uuid[],
    p_data         bytea[],
    p_key_ids      bigint[],
    p_new_subjects text[]
) RETURNS TABLE (global_position bigint, stream_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_erased text[];
BEGIN
    RETURN QUERY
        SELECT r.global_position, r.stream_version
          FROM dueprocess_append_refusal(p_stream, p_expected, p_prev_hash, p_ids, p_data,
                                         p_key_ids) AS r;
    IF FOUND OR coalesce(array_length(p_ids, 1), 0) = 0 THEN
        RETURN;
    END IF;
    SELECT array_agg(DISTINCT k.subject_id ORDER BY k.subject_id) INTO v_erased
      FROM subject_keys k
     WHERE k.subject_id = ANY (p_new_subjects) AND k.destroyed_at IS NOT NULL;
    IF v_erased IS NOT NULL THEN
        RAISE EXCEPTION 'data subject(s) % erased: appends naming them are refused', v_erased
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'subject_erased',
                  DETAIL = array_to_string(v_erased, ',');
    END IF;
END;
$$;

-- Erasure. The caller holds the subject's lock exclusive for the whole erasure (session
-- level: dueprocess_lock_subject) while it checks no open case names the person; this
-- takes it again for its own transaction, so even a caller that skipped the lock cannot
-- shred while an append naming the subject is in flight. Returns the keys destroyed.
CREATE FUNCTION dueprocess_erase_subject(p_subject text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    v_destroyed integer;
BEGIN
    PERFORM pg_advisory_xact_lock(dueprocess_subject_lock_key(p_subject));
    UPDATE subject_keys SET key_material = NULL, destroyed_at = now()
     WHERE subject_id = p_subject AND destroyed_at IS NULL;
    GET DIAGNOSTICS v_destroyed = ROW_COUNT;
    IF NOT EXISTS (SELECT 1 FROM subject_keys WHERE subject_id = p_subject) THEN
        -- Never keyed: a destroyed row marks the subject erased for later appends.
        INSERT INTO subject_keys (subject_id, key_material, destroyed_at)
        VALUES (p_subject, NULL, now());
    END IF;
    RETURN v_destroyed;
END;
$$;

-- Session-level, so the check (a scan in a transaction of its own) and the shredding
-- happen under one lock. The caller releases it in a finally block.
CREATE FUNCTION dueprocess_lock_subject(p_subject text) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_advisory_lock(dueprocess_subject_lock_key(p_subject))
$$;

CREATE FUNCTION dueprocess_unlock_subject(p_subject text) RETURNS boolean
LANGUAGE sql AS $$
    SELECT pg_advisory_unlock(dueprocess_subject_lock_key(p_subject))
$$;

-- Wrapping a stored key under the current KEK (`dueprocess keys wrap`): only if the row
-- still holds what the caller read and is live (an erasure meanwhile wins). The trigger
-- of 0009 still decides what a wrapped key may look like.
CREATE FUNCTION dueprocess_wrap_key(p_key_id bigint, p_stored bytea, p_wrapped bytea)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    UPDATE subject_keys SET key_material = p_wrapped
     WHERE key_id = p_key_id AND key_material = p_stored AND destroyed_at IS NULL;
    RETURN FOUND;
END;
$$;

-- A SECURITY DEFINER function resolves names only in the schema the migration ran in (then
-- pg_temp, last): nothing the caller puts earlier on a search path can stand in for a table
-- or function. PUBLIC loses EXECUTE, which every new function has by default.
DO $$
DECLARE
    v_path text := format('%I, pg_temp', current_schema());
    v_fn   text;
BEGIN
    FOREACH v_fn IN ARRAY ARRAY[
        'dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[], '
            'bigint[], text[], bytea[])',
        'dueprocess_erase_subject(text)',
        'dueprocess_wrap_key(bigint, bytea, bytea)'
    ] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %s', v_fn, v_path);
    END LOOP;
    FOREACH v_fn IN ARRAY ARRAY[
        'dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[], '
            'bigint[], text[], bytea[])',
        'dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[])',
        'dueprocess_append(text, bigint, bytea, uuid[], text[], timestamptz[], timestamptz[], '
            'bytea[], bytea[], bigint[])',
        'dueprocess_append_refusal(text, bigint, bytea, uuid[], bytea[], bigint[])',
        'dueprocess_append_refusal(text, bigint, bytea, uuid[], bytea[], bigint[], text[])',
        'dueprocess_erase_subject(text)',
        'dueprocess_lock_subject(text)',
        'dueprocess_unlock_subject(text)',
        'dueprocess_wrap_key(bigint, bytea, bytea)'
    ] LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_fn);
    END LOOP;
END;
$$;

-- Objects created in the schema by other roles could otherwise be picked up by an
-- invoker's search path (PostgreSQL 15 and later already withhold CREATE from PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON events, streams, subject_keys
            FROM dueprocess_app;
        REVOKE UPDATE (key_material, destroyed_at) ON subject_keys FROM dueprocess_app;
        REVOKE CREATE ON SCHEMA public FROM dueprocess_app;
        GRANT SELECT ON events, streams, subject_keys, schema_migrations TO dueprocess_app;
        GRANT EXECUTE ON FUNCTION
            dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[],
                              bigint[], text[], bytea[]),
            dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[]),
            dueprocess_append(text, bigint, bytea, uuid[], text[], timestamptz[],
                              timestamptz[], bytea[], bytea[], bigint[]),
            dueprocess_append_refusal(text, bigint, bytea, uuid[], bytea[], bigint[]),
            dueprocess_append_refusal(text, bigint, bytea, uuid[], bytea[], bigint[], text[]),
            dueprocess_erase_subject(text),
            dueprocess_lock_subject(text),
            dueprocess_unlock_subject(text),
            dueprocess_wrap_key(bigint, bytea, bytea),
            dueprocess_subject_lock_key(text)
        TO dueprocess_app;
    END IF;
END;
$$;
