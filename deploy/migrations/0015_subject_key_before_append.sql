-- 0013: a data subject's key created before any event names them.
--
-- Personal values are sealed under their subject's key before they enter a Temporal
-- workflow (services/sealing.py), so a person's key may be needed before the first event
-- about them is appended. This creates it, as the append would: under the subject's shared
-- lock (an erasure in progress is waited for), refused for an erased subject (constraint
-- subject_erased, as the append refuses), one live key per subject (a concurrent creator's
-- key wins and is returned). The key id comes from nextval on the identity, like the
-- append's new keys; the material is as the caller stores it (wrapped under a KEK or not:
-- the trigger of 0009 judges its form).

CREATE FUNCTION dueprocess_subject_key(p_subject text, p_key_id bigint, p_material bytea)
RETURNS TABLE (key_id bigint, key_material bytea)
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(dueprocess_subject_lock_key(p_subject));
    IF EXISTS (SELECT 1 FROM subject_keys k
                WHERE k.subject_id = p_subject AND k.destroyed_at IS NOT NULL) THEN
        RAISE EXCEPTION 'data subject % erased: no new key', p_subject
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'subject_erased',
                  DETAIL = p_subject;
    END IF;
    INSERT INTO subject_keys (key_id, subject_id, key_material) OVERRIDING SYSTEM VALUE
    VALUES (p_key_id, p_subject, p_material)
    ON CONFLICT (subject_id) WHERE destroyed_at IS NULL DO NOTHING;
    RETURN QUERY
        SELECT k.key_id, k.key_material FROM subject_keys k
         WHERE k.subject_id = p_subject AND k.destroyed_at IS NULL;
END;
$$;

DO $$
DECLARE
    v_path text := quote_ident(current_schema()) || ', pg_temp';
BEGIN
    EXECUTE format('ALTER FUNCTION dueprocess_subject_key(text, bigint, bytea) '
                   'SET search_path = %s', v_path);
    REVOKE ALL ON FUNCTION dueprocess_subject_key(text, bigint, bytea) FROM PUBLIC;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT EXECUTE ON FUNCTION dueprocess_subject_key(text, bigint, bytea)
            TO dueprocess_app;
    END IF;
END;
$$;
