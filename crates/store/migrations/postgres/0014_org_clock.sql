-- The org clock (issue 14, `byoc clock`, docs/org-as-code.md): the org's time is real time plus
-- `offset_millis`, shared by every instance on this database. One row, `id` always 1; no row
-- means real time. `moved_at` is the real time (epoch ms) of the last move, for diagnoses.
CREATE TABLE org_clock (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    offset_millis  BIGINT  NOT NULL,
    moved_at       BIGINT  NOT NULL
);

-- Every move raises `byoc_clock` at commit (crates/store/src/notify.rs), so every instance
-- reloads the offset at once. The payload is the new offset (informational: instances re-read
-- the row). A statement-level trigger, like those of migration 0010.
CREATE FUNCTION byoc_notify_clock() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    latest BIGINT;
BEGIN
    SELECT MAX(offset_millis) INTO latest FROM changed;
    IF latest IS NOT NULL THEN
        PERFORM pg_notify('byoc_clock', latest::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER org_clock_insert_notify AFTER INSERT ON org_clock
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_clock();
CREATE TRIGGER org_clock_update_notify AFTER UPDATE ON org_clock
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_clock();
CREATE TRIGGER org_clock_delete_notify AFTER DELETE ON org_clock
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION byoc_notify_clock();
