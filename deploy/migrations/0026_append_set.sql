-- 0026: a group of batches appended set-based: a handful of statements for the whole group
-- instead of a call of dueprocess_append per batch (0024).
--
-- Same arguments, same result and the same rules per batch as dueprocess_append_group:
-- the batch's subjects locked (shared, sorted) before anything is checked, its keys
-- usable (none destroyed, no new key for an erased subject), the stream head moved only
-- from the expected version and hash (or created from nothing), then its new keys, its
-- persons and its events written; a batch the rules refuse writes nothing and gets no
-- rows while the others are stored; an error aborts the whole group (the client then
-- sends it again in halves, as for 0024).
--
-- Why (issue 14): a call of the 0013 function per batch costs about as much again as the
-- batch's own writes (two statements, each started and ended, per batch). One backend,
-- groups of 5 batches of 10 events (bench/append.py's events, personal data), backend CPU
-- per event, median of 3 (load 2-3): 28.8 us through 0024, 16.3 us here. Eight connections
-- at once, each its own streams, with synchronous commits (median of 2, load 2-3): raw
-- INSERT 22.7 us, each batch alone 56.9, groups of 5 through 0024 50.2, here 26.5. What it
-- did to bench/append.py: store/group_commit.py.
--
-- The statements of a group see one snapshot, so two batches of one stream would not see
-- each other's head: the client sends such a group through 0024 instead (group_commit.py).
-- The client sends the batches sorted by stream id, and the head update's plan visits them
-- in that order (a nested loop over the batches: the plan expects a few), so groups of
-- several processes lock stream heads in one order, as with 0024. Were two groups ever to
-- deadlock on stream heads, PostgreSQL ends one, and its batches are sent again in halves,
-- as after any error.
CREATE FUNCTION dueprocess_append_set(
    p_streams       text[],
    p_expected      bigint[],
    p_prev_hashes   bytea[],
    p_sizes         int[],
    p_ids           uuid[],
    p_types         text[],
    p_data          bytea[],
    p_hashes        bytea[],
    p_key_counts    int[],
    p_key_ids       bigint[],
    p_new_counts    int[],
    p_new_key_ids   bigint[],
    p_new_subjects  text[],
    p_new_materials bytea[],
    p_people_counts int[],
    p_people        text[]
) RETURNS TABLE (batch int, global_position bigint, stream_version bigint)
LANGUAGE sql SECURITY DEFINER AS $$
    -- Shared locks of every subject the group seals data of (sorted: a fixed order); the
    -- next statement's fresh snapshot sees every erasure committed before they were granted.
    SELECT count(pg_advisory_xact_lock_shared(dueprocess_subject_lock_key(s.subject)))
      FROM (SELECT k.subject_id FROM subject_keys k WHERE k.key_id = ANY (p_key_ids)
            UNION
            SELECT unnest(p_new_subjects)
            ORDER BY 1) AS s(subject);

    WITH batches AS (
        -- One row per batch, with where its slices of the flat arrays start.
        SELECT u.i::int AS i, u.stream, u.expected, u.prev, u.n,
               (sum(u.n) OVER w - u.n)::int AS e0,
               (sum(u.kc) OVER w - u.kc)::int AS k0, u.kc,
               (sum(u.nc) OVER w - u.nc)::int AS n0, u.nc,
               (sum(u.pc) OVER w - u.pc)::int AS p0, u.pc
          FROM unnest(p_streams, p_expected, p_prev_hashes, p_sizes, p_key_counts,
                      p_new_counts, p_people_counts)
               WITH ORDINALITY AS u(stream, expected, prev, n, kc, nc, pc, i)
        WINDOW w AS (ORDER BY u.i)
    ), destroyed AS (  -- usually none
        SELECT k.key_id FROM subject_keys k
         WHERE k.key_id = ANY (p_key_ids) AND k.destroyed_at IS NOT NULL
    ), erased AS (  -- usually none
        SELECT k.subject_id FROM subject_keys k
         WHERE k.subject_id = ANY (p_new_subjects) AND k.destroyed_at IS NOT NULL
    ), usable AS (
        SELECT b.* FROM batches b
         WHERE b.n > 0
           AND NOT EXISTS (SELECT 1 FROM destroyed d
                            WHERE d.key_id = ANY (p_key_ids[b.k0 + 1 : b.k0 + b.kc]))
           AND NOT EXISTS (SELECT 1 FROM erased d
                            WHERE d.subject_id = ANY (p_new_subjects[b.n0 + 1 : b.n0 + b.nc]))
    ), moved AS (
        UPDATE streams s
           SET version = b.expected + b.n, head_hash = p_hashes[b.e0 + b.n]
          FROM usable b
         WHERE b.expected > 0
           AND s.stream_id = b.stream AND s.version = b.expected AND s.head_hash = b.prev
        RETURNING b.i
    ), created AS (
        INSERT INTO streams (stream_id, version, head_hash)
        SELECT b.stream, b.n, p_hashes[b.e0 + b.n]
          FROM usable b
         WHERE b.expected = 0 AND b.prev = ''::bytea
        ON CONFLICT (stream_id) DO NOTHING
        RETURNING stream_id
    ), head AS (  -- the batches whose stream head moved: only they write anything
        SELECT b.* FROM usable b WHERE b.i IN (SELECT m.i FROM moved m)
        UNION ALL
        SELECT b.* FROM usable b JOIN created c ON c.stream_id = b.stream WHERE b.expected = 0
    ), new_keys AS (
        INSERT INTO subject_keys (key_id, subject_id, key_material) OVERRIDING SYSTEM VALUE
        SELECT k.id, k.subject, k.material
          FROM head h,
               unnest(p_new_key_ids[h.n0 + 1 : h.n0 + h.nc],
                      p_new_subjects[h.n0 + 1 : h.n0 + h.nc],
                      p_new_materials[h.n0 + 1 : h.n0 + h.nc]) AS k(id, subject, material)
    ), people AS (
        -- Usually already listed (a case names the same people event after event).
        INSERT INTO stream_people (person_id, stream_id)
        SELECT DISTINCT p.id, h.stream
          FROM head h, unnest(p_people[h.p0 + 1 : h.p0 + h.pc]) AS p(id)
         WHERE p.id IS NOT NULL
        ON CONFLICT DO NOTHING
    ), added AS (
        INSERT INTO events AS e (stream_id, stream_version, event_id, event_type, data, hash)
        SELECT h.stream, h.expected + u.ord, u.id, u.t, u.d, u.h
          FROM head h,
               unnest(p_ids[h.e0 + 1 : h.e0 + h.n], p_types[h.e0 + 1 : h.e0 + h.n],
                      p_data[h.e0 + 1 : h.e0 + h.n], p_hashes[h.e0 + 1 : h.e0 + h.n])
                   WITH ORDINALITY AS u(id, t, d, h, ord)
        RETURNING e.stream_id, e.global_position, e.stream_version
    )
    SELECT h.i, a.global_position, a.stream_version
      FROM added a JOIN head h ON h.stream = a.stream_id
     ORDER BY 1, 3
$$;

-- The rules' reads are index probes (subject keys by id, erased subjects by the partial
-- index of 0010, stream heads by id), but with few keys (a small organisation, a fresh
-- database) the generic plan of 0013's append scanned subject_keys whole, twice per batch,
-- to check that no key was destroyed. Measured (issue 14; 8 connections at once, each
-- appending its own streams' batches alone, bench/append.py's events; server CPU per
-- event, median of 2, load 1.6-2.3): 64.8 us as it was, 49.8 with seq scans off, 49.6
-- without the key checks at all (raw INSERT: 22.7).
ALTER FUNCTION dueprocess_append(text, bigint, bytea, uuid[], text[], bytea[], bytea[], bigint[],
                                 bigint[], text[], bytea[], text[])
    SET enable_seqscan = off;

DO $$
DECLARE
    v_fn text := 'dueprocess_append_set(text[], bigint[], bytea[], int[], uuid[], text[], '
                 'bytea[], bytea[], int[], bigint[], int[], bigint[], text[], bytea[], int[], '
                 'text[])';
BEGIN
    EXECUTE format('ALTER FUNCTION %s SET search_path = %I, pg_temp', v_fn, current_schema());
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_fn);
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO dueprocess_app', v_fn);
    END IF;
END;
$$;
