-- Platform events (docs/pubsub.md): a durable, ordered log per topic. Replay ids are assigned
-- from platform_event_topics.last_replay_id inside the appending transaction, so they are
-- gapless per topic and commit in order, also with several instances on one PostgreSQL.
CREATE TABLE platform_event_topics (
    topic           TEXT   NOT NULL PRIMARY KEY,
    last_replay_id  BIGINT NOT NULL
);

CREATE TABLE platform_events (
    topic       TEXT   NOT NULL,
    replay_id   BIGINT NOT NULL,
    event_id    TEXT   NOT NULL,
    schema_id   TEXT   NOT NULL,
    payload     BYTEA   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (topic, replay_id)
);
CREATE INDEX platform_events_created ON platform_events (created_at);

-- Every schema an event was written with, so GetSchema answers for old events too.
CREATE TABLE platform_event_schemas (
    schema_id   TEXT   NOT NULL PRIMARY KEY,
    topic       TEXT   NOT NULL,
    schema_json TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
