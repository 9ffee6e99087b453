-- Server secrets shared by every instance on this database (the access-token sealing key).
CREATE TABLE server_keys (
    name        TEXT   PRIMARY KEY,
    key_hex     TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Revoked access tokens, by token id, kept until the token would have expired anyway.
CREATE TABLE revoked_tokens (
    token_id    TEXT   PRIMARY KEY,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);

-- Strict mode: assertion ids (jti) already used, per app, until the assertion expires.
CREATE TABLE used_assertion_ids (
    app_id      TEXT   NOT NULL,
    jti         TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (app_id, jti)
);

-- Login History: every token request, with byoc's diagnosis.
CREATE TABLE login_history (
    seq               BIGSERIAL PRIMARY KEY,
    login_time        BIGINT NOT NULL,
    username          TEXT   NOT NULL,
    user_id           TEXT,
    application       TEXT,
    consumer_key      TEXT,
    login_type        TEXT   NOT NULL,
    status            TEXT   NOT NULL,
    error             TEXT,
    error_description TEXT,
    diagnosis         TEXT,
    source_ip         TEXT
);
CREATE INDEX login_history_username ON login_history (username);
