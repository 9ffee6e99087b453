-- Everything a user or an app stood for is revoked: access tokens of `subject` (a user id or an
-- app id) issued at or before `revoked_at` are refused. Written in the same transaction as the
-- setup change (deactivating a user, disabling or deleting an app); one row per subject, the
-- latest revocation wins.
CREATE TABLE principal_revocations (
    subject     TEXT   PRIMARY KEY,
    revoked_at  BIGINT NOT NULL
);
CREATE INDEX principal_revocations_revoked_at ON principal_revocations (revoked_at);
