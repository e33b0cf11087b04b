-- 0024: several batches appended in one transaction (group commit, store/group_commit.py).
--
-- Concurrent appends of one process are sent together: one round trip, one transaction,
-- one commit for the group instead of one each. Each batch goes through the very same
-- dueprocess_append (13) with its own slice of the flat arrays, so every rule of the
-- append holds per batch (stream head and hash chain, subject locks and erased subjects,
-- keys and the person index written with the events). A batch the append refuses writes
-- nothing and gets no rows; the others are still stored. An error (a reused event id, a
-- key race, a deadlock) aborts the whole group: nothing of it is written and the client
-- appends each batch alone, which says what happened to which.
--
-- The client sends the batches sorted by stream id, so groups of different processes take
-- the stream heads' row locks in one order.
--
-- Per batch i: p_sizes[i] events, p_key_counts[i] sealing keys, p_new_counts[i] new keys,
-- p_people_counts[i] persons, each taken in turn from the flat arrays.
CREATE FUNCTION dueprocess_append_group(
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
LANGUAGE plpgsql AS $$
DECLARE
    v_e int := 0;  -- events, keys, new keys, persons taken so far
    v_k int := 0;
    v_n int := 0;
    v_p int := 0;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
        RETURN QUERY
            SELECT i, a.global_position, a.stream_version
              FROM dueprocess_append(
                       p_streams[i], p_expected[i], p_prev_hashes[i],
                       p_ids[v_e + 1 : v_e + p_sizes[i]], p_types[v_e + 1 : v_e + p_sizes[i]],
                       p_data[v_e + 1 : v_e + p_sizes[i]], p_hashes[v_e + 1 : v_e + p_sizes[i]],
                       p_key_ids[v_k + 1 : v_k + p_key_counts[i]],
                       p_new_key_ids[v_n + 1 : v_n + p_new_counts[i]],
                       p_new_subjects[v_n + 1 : v_n + p_new_counts[i]],
                       p_new_materials[v_n + 1 : v_n + p_new_counts[i]],
                       p_people[v_p + 1 : v_p + p_people_counts[i]]) AS a;
        v_e := v_e + p_sizes[i];
        v_k := v_k + p_key_counts[i];
        v_n := v_n + p_new_counts[i];
        v_p := v_p + p_people_counts[i];
    END LOOP;
END;
$$;

-- An invoker's function: it may do only what dueprocess_append lets the caller do.
DO $$
DECLARE
    v_fn text := 'dueprocess_append_group(text[], bigint[], bytea[], int[], uuid[], text[], '
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
