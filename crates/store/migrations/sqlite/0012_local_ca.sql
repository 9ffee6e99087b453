-- The org's local CA (issue 13): one row, shared by every instance on this database, so every
-- instance behind a load balancer presents TLS certificates from the same CA. Each instance
-- issues its own short-lived server certificates from it at start; `ca.crt` in a data dir is only
-- a copy for clients. `id` is always 1: the first instance to insert wins (ON CONFLICT DO
-- NOTHING), the others read its CA back.
CREATE TABLE local_ca (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    certificate_pem  TEXT    NOT NULL,
    private_key_pem  TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL
);
