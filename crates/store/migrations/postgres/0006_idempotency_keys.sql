-- Idempotency keys of agent actions (reply, end, route; docs/admin-api.md). The row is written
-- in the same transaction as the action's entries and its platform event, so a retry with the
-- same key finds either everything or nothing; `response` is the first answer (JSON) and
-- `replay_id` the replay id of the event it published.
CREATE TABLE idempotency_keys (
    scope       TEXT   NOT NULL,
    idem_key    TEXT   NOT NULL,
    response    TEXT   NOT NULL,
    replay_id   BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
