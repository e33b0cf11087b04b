-- 0007: workers still running the 0005-era client keep working during a rolling upgrade.
--
-- 0006 replaced the ten-argument dueprocess_append (which raised on every refusal) with an
-- eight-argument fast path that returns no rows when it refuses. A worker deployed before
-- 0006 still calls the ten-argument form, and would read "no rows" as "nothing to append".
-- This overload keeps that worker's contract exactly: it ignores the two time arrays (the
-- columns are gone; both times are in the hashed document), appends through the fast
-- path, and on refusal raises what 0005 raised, or returns the stored rows of a retry.

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
BEGIN
    RETURN QUERY
        SELECT a.global_position, a.stream_version
          FROM dueprocess_append(p_stream, p_expected, p_prev_hash, p_ids, p_types, p_data,
                                 p_hashes, p_key_ids) AS a;
    IF FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT r.global_position, r.stream_version
          FROM dueprocess_append_refusal(p_stream, p_expected, p_prev_hash, p_ids, p_data,
                                         p_key_ids) AS r;
    IF FOUND OR coalesce(array_length(p_ids, 1), 0) = 0 THEN
        RETURN;
    END IF;
    -- Nothing is wrong any more (a competing first append rolled back): the old client
    -- treats this like any stale version and decides again.
    RAISE EXCEPTION 'stream % changed while appending; decide again', p_stream
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'events_stream_version_key';
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
