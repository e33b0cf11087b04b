-- 0008: a data subject's first key is created by the append that first uses it.
--
-- Until now a new subject cost the append path a transaction of its own: the client
-- inserted the key and committed (a WAL flush), then sealed and appended. Now the client
-- reserves key ids from the key sequence (in the read-only lookup it already makes), seals
-- under a key it generated, and the append inserts that key in the same statement as the
-- events: both are written or neither. One live key per subject still holds: a second
-- process creating the same subject's first key meets subject_keys_one_live_key, writes
-- nothing, and re-seals under the key that won.
--
-- The key ids passed in p_new_key_ids must come from nextval on subject_keys' identity
-- sequence, so an id is never handed out twice.

CREATE FUNCTION dueprocess_append(
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

-- The eight-argument form (0006-era workers, and 0007's overload through it) is the same
-- append with no new keys: one body for the rules.
CREATE OR REPLACE FUNCTION dueprocess_append(
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
    SELECT a.global_position, a.stream_version
      FROM dueprocess_append(p_stream, p_expected, p_prev_hash, p_ids, p_types, p_data,
                             p_hashes, p_key_ids, '{}', '{}', '{}') AS a
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT EXECUTE ON FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[],
            bytea[], bytea[], bigint[], bigint[], text[], bytea[]) TO dueprocess_app;
        -- nextval only: reserving key ids. Sequences are never rewound by the app.
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO dueprocess_app',
                       pg_get_serial_sequence('subject_keys', 'key_id'));
    END IF;
END;
$$;
