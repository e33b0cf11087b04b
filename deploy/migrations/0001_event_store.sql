-- 0001: the immutable, hash-chained event store.
--
-- Streams of events with per-stream versions; a global order readers can tail without
-- gaps (tx_id, global_position); per-stream SHA-256 chain over the stored bytes;
-- append-only enforced by triggers; per-subject encryption keys for crypto-shredding.

CREATE TABLE events (
    -- Assigned at insert but visible at commit, so out of order: readers use tx_id too.
    global_position bigint GENERATED ALWAYS AS IDENTITY,
    -- The writing transaction; readers only take rows of transactions older than the
    -- oldest one still running, so a slow writer can never be skipped.
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    recorded_at     timestamptz NOT NULL,
    effective_at    timestamptz NOT NULL,
    -- Canonical JSON of the whole envelope (personal data already encrypted): the bytes
    -- that are hashed. Columns above are copies for indexing; verify checks they agree.
    data            bytea       NOT NULL,
    hash            bytea       NOT NULL,
    CONSTRAINT events_stream_version_key PRIMARY KEY (stream_id, stream_version),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_version_positive CHECK (stream_version > 0)
);

CREATE INDEX events_global_order_idx ON events (tx_id, global_position);

-- Stream heads: where optimistic concurrency is decided (one row lock per stream, not a
-- table lock) and the anchor that lets verify notice a removed last event.
CREATE TABLE streams (
    stream_id  text   PRIMARY KEY,
    version    bigint NOT NULL,
    head_hash  bytea  NOT NULL
);

-- Per-data-subject keys. Rows are never deleted so a key id is never reused; erasure
-- sets key_material to NULL (crypto-shredding).
CREATE TABLE subject_keys (
    key_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id   text        NOT NULL,
    key_material bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CONSTRAINT subject_keys_destroyed_has_no_key
        CHECK ((destroyed_at IS NULL) = (key_material IS NOT NULL))
);

CREATE UNIQUE INDEX subject_keys_one_live_key ON subject_keys (subject_id)
    WHERE destroyed_at IS NULL;

CREATE FUNCTION dueprocess_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dueprocess: % on % is refused: the event log is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege', HINT = 'append a correcting event instead';
END;
$$;

CREATE TRIGGER events_append_only_rows
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION dueprocess_refuse_change();

CREATE TRIGGER events_append_only_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION dueprocess_refuse_change();

-- A key may only be destroyed, never altered, resurrected or deleted.
CREATE FUNCTION dueprocess_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.destroyed_at IS NULL
       AND NEW.key_material IS NULL AND NEW.destroyed_at IS NOT NULL
       AND NEW.key_id = OLD.key_id AND NEW.subject_id = OLD.subject_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'dueprocess: % on subject_keys is refused: keys can only be destroyed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER subject_keys_destroy_only
    BEFORE UPDATE OR DELETE ON subject_keys
    FOR EACH ROW EXECUTE FUNCTION dueprocess_key_change();

CREATE TRIGGER subject_keys_no_truncate
    BEFORE TRUNCATE ON subject_keys
    FOR EACH STATEMENT EXECUTE FUNCTION dueprocess_refuse_change();

-- Append a batch to one stream in a single round trip.
-- Returns the rows' (global_position, stream_version). Raises unique_violation with
-- constraint events_stream_version_key on a stale expected version and
-- events_event_id_key when an event id is reused with other content.
-- A batch whose ids are all already stored with identical bytes returns the stored rows:
-- a retried activity succeeds without duplicates.
CREATE FUNCTION dueprocess_append(
    p_stream    text,
    p_expected  bigint,
    p_ids       uuid[],
    p_types     text[],
    p_recorded  timestamptz[],
    p_effective timestamptz[],
    p_data      bytea[]
) RETURNS TABLE (global_position bigint, stream_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_head   bigint;
    v_hash   bytea;
    v_n      int := coalesce(array_length(p_ids, 1), 0);
    v_hashes bytea[] := ARRAY[]::bytea[];
    v_same   int;
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

    IF v_n = 0 THEN
        RETURN;
    END IF;

    FOR i IN 1 .. v_n LOOP
        v_hash := sha256(v_hash || p_data[i]);
        v_hashes := v_hashes || v_hash;
    END LOOP;

    IF v_head = 0 THEN
        -- Two first appends race here: the loser's unique violation on streams_pkey is
        -- mapped to a concurrency conflict like any other stale version.
        INSERT INTO streams (stream_id, version, head_hash) VALUES (p_stream, v_n, v_hash);
    ELSE
        UPDATE streams SET version = v_head + v_n, head_hash = v_hash WHERE stream_id = p_stream;
    END IF;

    RETURN QUERY
        INSERT INTO events AS e (stream_id, stream_version, event_id, event_type,
                                 recorded_at, effective_at, data, hash)
        SELECT p_stream, p_expected + u.ord, u.id, u.t, u.r, u.ef, u.d, u.h
          FROM unnest(p_ids, p_types, p_recorded, p_effective, p_data, v_hashes)
               WITH ORDINALITY AS u(id, t, r, ef, d, h, ord)
        RETURNING e.global_position, e.stream_version;
END;
$$;

-- The application role: reads and appends, never rewrites. Grant it to the login role
-- the workers use (GRANT dueprocess_app TO dueprocess_worker). Creating roles needs
-- CREATEROLE; where the migrating user lacks it, a DBA creates the role and re-runs.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        CREATE ROLE dueprocess_app NOLOGIN;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'dueprocess: cannot create role dueprocess_app; grants skipped';
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dueprocess_app') THEN
        GRANT SELECT, INSERT ON events TO dueprocess_app;
        GRANT SELECT, INSERT, UPDATE ON streams TO dueprocess_app;
        GRANT SELECT, INSERT ON subject_keys TO dueprocess_app;
        GRANT UPDATE (key_material, destroyed_at) ON subject_keys TO dueprocess_app;
        GRANT EXECUTE ON FUNCTION dueprocess_append(text, bigint, uuid[], text[],
            timestamptz[], timestamptz[], bytea[]) TO dueprocess_app;
    END IF;
END;
$$;
