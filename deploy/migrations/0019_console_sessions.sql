-- 0019: the browser console's sessions, in the database, so every API replica (and an API
-- restarted) serves the same sessions without session affinity at the ingress.
--
-- The cookie carries a random session id; this table keys the session by the id's SHA-256,
-- so reading the table opens no session. The access token is sealed (AES-256-GCM) under a
-- key derived from the console's session secret AND the session id (console/sessions.py):
-- neither the database alone nor the database with the secret yields a token without the
-- browser's cookie. No personal data is stored (the role picked is a role name).
--
-- Expiry is enforced here: a session is read, and its role changed, only before
-- expires_at (the earlier of the console's lifetime and the token's own expiry, never
-- more than a day after it opened); opening a session deletes the expired ones; signing
-- out deletes the session. The application role reaches the table only through these
-- functions (SECURITY DEFINER, fixed search_path, as 0010).
CREATE TABLE console_sessions (
    session_hash bytea PRIMARY KEY
        CONSTRAINT console_session_hash_size CHECK (octet_length(session_hash) = 32),
    sealed_token bytea NOT NULL,
    role         text CONSTRAINT console_session_role_size CHECK (length(role) <= 200),
    opened_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    CONSTRAINT console_session_at_most_a_day
        CHECK (expires_at <= opened_at + interval '1 day')
);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);

-- A new session: live for p_ttl, or until the token expires if sooner (NULL: no expiry
-- given). Returns when it expires.
CREATE FUNCTION dueprocess_console_session_open(
    p_hash bytea, p_sealed bytea, p_ttl interval, p_token_expires timestamptz
) RETURNS timestamptz
LANGUAGE sql SECURITY DEFINER AS $$
    DELETE FROM console_sessions WHERE expires_at <= now();
    INSERT INTO console_sessions (session_hash, sealed_token, expires_at)
    VALUES (p_hash, p_sealed, least(now() + p_ttl, p_token_expires))  -- least skips NULL
    RETURNING expires_at;
$$;

-- A live session's sealed token and role (no row: no session, or it has expired).
CREATE FUNCTION dueprocess_console_session(p_hash bytea)
RETURNS TABLE (sealed_token bytea, role text)
LANGUAGE sql STABLE SECURITY DEFINER AS $$
    SELECT s.sealed_token, s.role FROM console_sessions s
     WHERE s.session_hash = p_hash AND s.expires_at > now();
$$;

-- The role a live session acts in; false when there is no live session.
CREATE FUNCTION dueprocess_console_session_role(p_hash bytea, p_role text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER AS $$
    WITH picked AS (
        UPDATE console_sessions SET role = p_role
         WHERE session_hash = p_hash AND expires_at > now()
        RETURNING 1)
    SELECT count(*) > 0 FROM picked;
$$;

-- Sign-out: the session is deleted; false when there was none.
CREATE FUNCTION dueprocess_console_session_close(p_hash bytea) RETURNS boolean
LANGUAGE sql SECURITY DEFINER AS $$
    WITH gone AS (DELETE FROM console_sessions WHERE session_hash = p_hash RETURNING 1)
    SELECT count(*) > 0 FROM gone;
$$;

DO $$
DECLARE
    v_path text := format('%I, pg_temp', current_schema());
    v_fn   text;
BEGIN
    FOREACH v_fn IN ARRAY ARRAY[
        'dueprocess_console_session_open(bytea, bytea, interval, timestamptz)',
        'dueprocess_console_session(bytea)',
        'dueprocess_console_session_role(bytea, text)',
        'dueprocess_console_session_close(bytea)'
    ] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %s', v_fn, v_path);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_fn);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO dueprocess_app', v_fn);
        END IF;
    END LOOP;
END;
$$;
REVOKE ALL ON console_sessions FROM PUBLIC;
