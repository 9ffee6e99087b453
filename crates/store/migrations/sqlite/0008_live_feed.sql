-- The console's live feed (docs/console.md, "Live updates"): one row per change a browser should
-- see (a conversation touched by a committed write batch, a platform event delivered to a
-- subscriber). `seq` comes from live_feed_head.last_seq, bumped inside the writing transaction
-- just before its commit: the row lock orders writers (also several instances on one PostgreSQL),
-- so seqs are gap-free and commit in order, and a reader that saw N never later sees a new row
-- below N. `body` is the event's JSON data line as sent.
CREATE TABLE live_feed_head (
    id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last_seq  BIGINT  NOT NULL
);
INSERT INTO live_feed_head (id, last_seq) VALUES (1, 0);

CREATE TABLE live_feed (
    seq              INTEGER PRIMARY KEY,
    kind             TEXT   NOT NULL,
    conversation_id  TEXT   NOT NULL,
    body             TEXT   NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX live_feed_created ON live_feed (created_at);

-- Which conversation (and agent entry) a platform event appended by a write unit carries, so a
-- delivery reported by the Pub/Sub host (topic, replay id) can be shown on that conversation.
CREATE TABLE live_event_links (
    topic            TEXT   NOT NULL,
    replay_id        BIGINT NOT NULL,
    conversation_id  TEXT   NOT NULL,
    entry_id         TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (topic, replay_id)
);
CREATE INDEX live_event_links_created ON live_event_links (created_at);
