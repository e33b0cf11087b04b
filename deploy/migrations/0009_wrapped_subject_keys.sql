-- 0009: subject keys may be stored wrapped by a key-encryption key (KEK) held outside the
-- database (DUEPROCESS_KEY_ENCRYPTION_KEYS), so a dump or backup of the database alone
-- does not reveal anyone's personal data.
--
-- A wrapped key is 'dpw1' || KEK fingerprint (8 bytes) || nonce (12) || AES-GCM of the
-- 32-byte key (48), bound to its key id and subject. Workers wrap keys as they create them;
-- `dueprocess keys wrap` wraps the keys stored before, and re-wraps keys of an older KEK
-- under the current one. That is the one change a live key may undergo besides
-- destruction: same row, same subject, still live, and the new material in the wrapped
-- form. The database cannot see inside the wrapping; the worker that wraps has just
-- unwrapped the same key and checks it reads back.

CREATE OR REPLACE FUNCTION dueprocess_key_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.destroyed_at IS NULL
       AND NEW.key_material IS NULL AND NEW.destroyed_at IS NOT NULL
       AND NEW.key_id = OLD.key_id AND NEW.subject_id = OLD.subject_id THEN
        RETURN NEW;  -- destroyed (erasure)
    END IF;
    IF TG_OP = 'UPDATE'
       AND OLD.destroyed_at IS NULL AND NEW.destroyed_at IS NULL
       AND NEW.key_id = OLD.key_id AND NEW.subject_id = OLD.subject_id
       AND NEW.created_at = OLD.created_at
       AND length(NEW.key_material) = 72
       AND substring(NEW.key_material FROM 1 FOR 4) = 'dpw1'::bytea THEN
        RETURN NEW;  -- wrapped, or re-wrapped under the current KEK
    END IF;
    RAISE EXCEPTION 'dueprocess: % on subject_keys is refused: keys can only be wrapped or destroyed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
