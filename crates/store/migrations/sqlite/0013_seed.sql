-- The org's seed (docs/org-as-code.md, "Reset"): the setup records as they were right after the
-- first start's setup (the sample setup, `byoc serve --seed DIR`, or nothing with `--empty`),
-- so `byoc reset` can put them back. For an org made before this table existed, the first start
-- that finds no snapshot takes it from the setup as it is then.
--
-- `seed_snapshot` has one row (id 1): when the snapshot was taken and from what. The first
-- start's own instance replaces a snapshot another instance took meanwhile; any other start
-- inserts only if none exists (ON CONFLICT DO NOTHING), so instances starting at once agree.
CREATE TABLE seed_snapshot (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    taken_at    BIGINT  NOT NULL,
    source      TEXT    NOT NULL
);

-- The snapshot's setup records: setup_objects' rows (same columns) except the org row and the
-- admin credentials, which a reset keeps as they are.
CREATE TABLE seed_setup_objects (
    kind        TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    name_key    TEXT   NOT NULL,
    alt_key     TEXT,
    lookup_key  TEXT,
    body        TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
