-- Setup records (org, users, permission sets, apps, channels, admin credentials) as JSON bodies
-- with the keys they are looked up by. Uniqueness is per kind; NULL keys do not collide.
CREATE TABLE setup_objects (
    kind        TEXT   NOT NULL,
    id          TEXT   NOT NULL,
    name_key    TEXT   NOT NULL,
    alt_key     TEXT,
    lookup_key  TEXT,
    body        TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX setup_objects_name ON setup_objects (kind, name_key);
CREATE UNIQUE INDEX setup_objects_alt ON setup_objects (kind, alt_key);
CREATE UNIQUE INDEX setup_objects_lookup ON setup_objects (kind, lookup_key);

-- View Setup Audit Trail.
CREATE TABLE setup_audit_trail (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_date BIGINT NOT NULL,
    created_by   TEXT   NOT NULL,
    section      TEXT   NOT NULL,
    action       TEXT   NOT NULL,
    body         TEXT   NOT NULL
);
