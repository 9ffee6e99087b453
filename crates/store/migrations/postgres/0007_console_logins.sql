-- Console logins (docs/console.md). Password hashes live apart from the user record, so nothing
-- that serializes a user can ever carry one: `password_hash` is an Argon2id PHC string, one row
-- per user id, replaced when the password is set or reset (in the same transaction as its audit
-- row).
CREATE TABLE user_passwords (
    user_id        TEXT   PRIMARY KEY,
    password_hash  TEXT   NOT NULL,
    set_at         BIGINT NOT NULL
);
-- Console sessions, kept here so they survive a restart and work on every instance sharing the
-- database. `session_hash` is the SHA-256 (hex) of the cookie's value: the database never holds
-- a usable session id. `real_username` is set while *Login As* is in force.
CREATE TABLE console_sessions (
    session_hash   TEXT   PRIMARY KEY,
    username       TEXT   NOT NULL,
    real_username  TEXT,
    csrf           TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
