-- Change notices (crates/store/src/notify.rs): every write to a table another instance caches or
-- streams raises NOTIFY in the writing transaction, so it is delivered at commit (and never for a
-- rolled-back write) to every instance's LISTEN connection. Statement-level triggers: one
-- notification per statement, whatever the path that wrote (the store's SQL, a PL/pgSQL batch
-- function, psql), and PostgreSQL folds identical notifications of one transaction into one.
-- Transition tables let a statement that changed no row stay silent.
--
-- Channels and payloads:
--   byoc_setup  ''            setup_objects (apps, policies, users, channels, CCDs, ...)
--   byoc_oauth  table name    revoked_tokens, principal_revocations, server_keys
--   byoc_events topic         platform_events (one notification per topic the statement wrote)
--   byoc_live   newest seq    live_feed (the console's live feed)

CREATE FUNCTION byoc_notify_setup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM pg_notify('byoc_setup', '');
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION byoc_notify_oauth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM pg_notify('byoc_oauth', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION byoc_notify_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('byoc_events', t.topic) FROM (SELECT DISTINCT topic FROM changed) AS t;
    RETURN NULL;
END $$;

CREATE FUNCTION byoc_notify_live() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head BIGINT;
BEGIN
    SELECT MAX(seq) INTO head FROM changed;
    IF head IS NOT NULL THEN
        PERFORM pg_notify('byoc_live', head::text);
    END IF;
    RETURN NULL;
END $$;

-- A trigger with transition tables names one event, so each event gets its own trigger.
CREATE TRIGGER setup_objects_insert_notify AFTER INSERT ON setup_objects
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_setup();
CREATE TRIGGER setup_objects_update_notify AFTER UPDATE ON setup_objects
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_setup();
CREATE TRIGGER setup_objects_delete_notify AFTER DELETE ON setup_objects
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_setup();

-- Revocations are only ever added (expired ones are purged: nobody needs to hear of that).
CREATE TRIGGER revoked_tokens_insert_notify AFTER INSERT ON revoked_tokens
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();
CREATE TRIGGER revoked_tokens_update_notify AFTER UPDATE ON revoked_tokens
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();
CREATE TRIGGER principal_revocations_insert_notify AFTER INSERT ON principal_revocations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();
CREATE TRIGGER principal_revocations_update_notify AFTER UPDATE ON principal_revocations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();
CREATE TRIGGER server_keys_insert_notify AFTER INSERT ON server_keys
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();
CREATE TRIGGER server_keys_update_notify AFTER UPDATE ON server_keys
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();
CREATE TRIGGER server_keys_delete_notify AFTER DELETE ON server_keys
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_oauth();

-- Appended events and feed rows (purges delete; nobody waits for that).
CREATE TRIGGER platform_events_insert_notify AFTER INSERT ON platform_events
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_events();
CREATE TRIGGER live_feed_insert_notify AFTER INSERT ON live_feed
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_live();
