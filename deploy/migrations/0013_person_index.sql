-- 0013: which streams name which person, written by the append in the same statement as
-- the events, so subject access, the erasure check, member standing and a member's cases
-- read only the person's own streams instead of scanning the log.
--
-- One row per (person, stream): a stream is listed for a person once any of its events
-- names them (the actor when a person, a field typed PersonId, or the data subject of a
-- personal value). The client computes those ids from the event types
-- (domain/people.py) and passes them to the append; the app role may only read the
-- table (the append, SECURITY DEFINER, writes it).
--
-- Rolling upgrade: workers before 0013 call the 11-argument append (or the 8- and
-- 10-argument forms of 0007/0008, which forward to it). That form now derives the ids
-- from the stored documents (dueprocess_people_in, below) and forwards to the new
-- 12-argument one, so their events are indexed too. The same derivation backfills the
-- events already stored.

CREATE TABLE stream_people (
    person_id text NOT NULL,
    stream_id text NOT NULL,
    PRIMARY KEY (person_id, stream_id)
);

-- The persons a stored document names, judged by field names only (no types in SQL): the
-- actor (and the payload's actor) when a person, and every string (or list of strings)
-- under a key that names a person in any event type of this release, at any depth. That
-- includes "subject_id", so every personal value's data subject. A superset of what the
-- types say (domain/people.py): subject access filters the streams' events again by type.
CREATE FUNCTION dueprocess_people_in(p_doc jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT p.id ORDER BY p.id), '{}')
      FROM (
        SELECT a->>'id'
          FROM (VALUES (p_doc->'actor'), (p_doc->'payload'->'actor')) AS v(a)
         WHERE jsonb_typeof(a) = 'object' AND jsonb_typeof(a->'id') = 'string'
           AND coalesce(a->>'kind', 'person') = 'person'
        UNION ALL
        SELECT s.value #>> '{}'
          FROM jsonb_path_query(coalesce(p_doc->'payload', '{}'),
                                'strict $.** ? (@.type() == "object")') AS n(node),
               jsonb_each(n.node) AS kv(key, value),
               jsonb_path_query(kv.value, 'lax $ ? (@.type() == "string")') AS s(value)
         WHERE kv.key IN ('attendees', 'person_id', 'captured_by', 'witness_id',
                          'from_person_id', 'investigator_id', 'member_id', 'members',
                          'recipient_subject_id', 'replaces', 'reviewed_by', 'subject_id')
      ) AS p(id)
     WHERE p.id IS NOT NULL
$$;

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
    p_new_materials bytea[],
    p_people        text[]
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
    ), people AS (
        -- Usually already listed (a case names the same people event after event).
        INSERT INTO stream_people (person_id, stream_id)
        SELECT DISTINCT p.id, p_stream
          FROM head, unnest(p_people) AS p(id)
         WHERE p.id IS NOT NULL
        ON CONFLICT DO NOTHING
    )
    INSERT INTO events AS e (stream_id, stream_version, event_id, event_type, data, hash)
    SELECT p_stream, p_expected + u.ord, u.id, u.t, u.d, u.h
      FROM head, unnest(p_ids, p_types, p_data, p_hashes) WITH ORDINALITY AS u(id, t, d, h, ord)
    RETURNING e.global_position, e.stream_version
$$;

-- The 11-argument form (workers before 0013, and the 0007/0008 forwards): the persons
-- come from the documents themselves.
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
    SELECT a.global_position, a.stream_version
      FROM dueprocess_append(
               p_stream, p_expected, p_prev_hash, p_ids, p_types, p_data, p_hashes, p_key_ids,
               p_new_key_ids, p_new_subjects, p_new_materials,
               ARRAY(SELECT DISTINCT p.id
                       FROM unnest(p_data) AS d(doc),
                            unnest(dueprocess_people_in(convert_from(d.doc, 'UTF8')::jsonb))
                                AS p(id))) AS a
$$;

-- Every event stored so far (one pass; a large log makes this migration take a while).
INSERT INTO stream_people (person_id, stream_id)
SELECT DISTINCT p.id, e.stream_id
  FROM events e,
       unnest(dueprocess_people_in(convert_from(e.data, 'UTF8')::jsonb)) AS p(id)
ON CONFLICT DO NOTHING;

DO $$
DECLARE
    v_path text := format('%I, pg_temp', current_schema());
    v_fn   text;
BEGIN
    FOREACH v_fn IN ARRAY ARRAY[
        'dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[], '
            'bigint[], text[], bytea[], text[])',
        'dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[], '
            'bigint[], text[], bytea[])'
    ] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %s', v_fn, v_path);
    END LOOP;
    EXECUTE 'REVOKE ALL ON FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[], '
            'bytea[], bytea[], bigint[], bigint[], text[], bytea[], text[]) FROM PUBLIC';
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT SELECT ON stream_people TO dueprocess_app;
        GRANT EXECUTE ON FUNCTION
            dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[],
                              bigint[], text[], bytea[], text[]),
            dueprocess_people_in(jsonb)
        TO dueprocess_app;
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION dueprocess_people_in(jsonb) FROM PUBLIC;
