-- The Interaction Service API's conversation model (docs/interaction-api.md).

-- A messaging end user: one per (channel, client identifier = the interaction's `from`).
CREATE TABLE messaging_end_users (
    id                  TEXT   NOT NULL PRIMARY KEY,
    channel_id          TEXT   NOT NULL,
    client_id           TEXT   NOT NULL,
    consent_status      TEXT,
    consent_updated_at  BIGINT,
    created_at          BIGINT NOT NULL,
    UNIQUE (channel_id, client_id)
);

-- One conversation per end user (and so per channel), created on first contact.
CREATE TABLE conversations (
    id                  TEXT   NOT NULL PRIMARY KEY,
    end_user_id         TEXT   NOT NULL UNIQUE,
    channel_id          TEXT   NOT NULL,
    channel_address     TEXT   NOT NULL,
    ccd_developer_name  TEXT   NOT NULL,
    routing_attributes  TEXT   NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- Messaging sessions (work items, 0Mw...) of a conversation; the newest one not Ended is current.
CREATE TABLE messaging_sessions (
    id                  TEXT   NOT NULL PRIMARY KEY,
    conversation_id     TEXT   NOT NULL,
    status              TEXT   NOT NULL,
    started_at          BIGINT NOT NULL,
    ended_at            BIGINT,
    ended_by            TEXT
);
CREATE INDEX messaging_sessions_conversation ON messaging_sessions (conversation_id, started_at);

-- Conversation entries; (conversation, entry id) is unique so a retried interaction is stored once.
CREATE TABLE conversation_entries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id     TEXT   NOT NULL,
    entry_id            TEXT   NOT NULL,
    session_id          TEXT,
    entry_type          TEXT   NOT NULL,
    sender_app_type     TEXT   NOT NULL,
    sender_subject      TEXT   NOT NULL,
    sender_role         TEXT   NOT NULL,
    client_timestamp    BIGINT NOT NULL,
    server_timestamp    BIGINT NOT NULL,
    text                TEXT,
    message_type        TEXT,
    format_type         TEXT,
    acknowledged_entry_id TEXT,
    source              TEXT   NOT NULL,
    payload             TEXT   NOT NULL,
    UNIQUE (conversation_id, entry_id)
);
CREATE INDEX conversation_entries_time ON conversation_entries (conversation_id, client_timestamp);

-- Attachment bytes live in the database, next to the entry that carries them.
CREATE TABLE conversation_attachments (
    id                  TEXT   NOT NULL PRIMARY KEY,
    conversation_id     TEXT   NOT NULL,
    entry_id            TEXT   NOT NULL,
    name                TEXT   NOT NULL,
    mime_type           TEXT   NOT NULL,
    size                BIGINT NOT NULL,
    content             BLOB  NOT NULL,
    created_at          BIGINT NOT NULL
);
CREATE INDEX conversation_attachments_entry ON conversation_attachments (conversation_id, entry_id);

-- Routing, agent work, participant changes and channel capabilities, as JSON bodies by key.
CREATE TABLE interaction_records (
    kind                TEXT   NOT NULL,
    record_key          TEXT   NOT NULL,
    conversation_id     TEXT,
    body                TEXT   NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (kind, record_key)
);
CREATE INDEX interaction_records_conversation ON interaction_records (conversation_id);
