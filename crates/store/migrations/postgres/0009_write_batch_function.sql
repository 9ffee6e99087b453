-- Group commit in one round trip (issue 13): the Interaction API's write batch, applied by the
-- server instead of statement by statement from byoc. `byoc_write_batch(ops, blobs)` takes the
-- whole batch as one jsonb array (built by crates/store/src/pg_batch.rs; attachment and event
-- bytes travel beside it as a bytea array, referenced by 1-based index) and returns one outcome
-- per op as a jsonb array. Called as a single statement, it is its own transaction: a batch
-- commits whole or not at all, in one round trip whatever its size, where the statement-by-
-- statement path cost about six round trips per interaction.
--
-- The semantics are exactly those of `write_batch` in crates/store/src/conversations.rs (which
-- SQLite still uses, in process): keep the two in step. The store tests run one scripted
-- sequence of batches on both backends and compare every outcome and every row.
--
-- - A unit (claim, ops, event) is a BEGIN .. EXCEPTION subblock, the savepoint of the Rust path:
--   a refused unit (claim taken, record held, something missing) raises BY001 to roll back what
--   it wrote; every other error propagates and fails the batch, with its SQLSTATE (unique
--   violations stay unique violations for the caller).
-- - What each op touched (conversation, channel, kinds) is collected as a flat list; a refused
--   unit's part is cut off again. At the end the list becomes one live feed row per conversation
--   (first-seen order, kinds once each in first-seen order, the first known channel, the latest
--   time), as `tx_feed_touched` writes them, and the new head is announced on `byoc_live`.

-- One op that is not a unit. Returns its outcome and what it touched: all touches of one op are
-- of one conversation and channel, at the op's `now`.
CREATE OR REPLACE FUNCTION byoc_apply_write(
    p_op jsonb,
    p_blobs bytea[],
    OUT outcome jsonb,
    OUT touched_conversation text,
    OUT touched_channel text,
    OUT touched_kinds text[],
    OUT touched_at bigint
) LANGUAGE plpgsql AS $fn$
DECLARE
    v_kind text := p_op->>'op';
    v_now bigint := (p_op->>'now')::bigint;
    v_target jsonb;
    v_new jsonb;
    v_session jsonb;
    v_mode text;
    v_conv record;
    v_end_user text;
    v_latest record;
    v_session_id text;
    v_entries jsonb;
    v_entry jsonb;
    v_attachment jsonb;
    v_blob bytea;
    v_count int;
    v_stored jsonb[] := '{}';
    v_any_new boolean := false;
    v_prior text;
    v_answer text;
    v_conversation text;
    v_status text;
BEGIN
    touched_kinds := '{}';
    touched_at := v_now;
    IF v_kind = 'append' THEN
        v_target := p_op->'target';
        IF v_target ? 'conversation' THEN
            SELECT c.id, c.end_user_id, u.client_id, c.channel_id, c.channel_address, c.ccd_developer_name,
                   c.routing_attributes, u.consent_status, c.created_at, c.updated_at
              INTO v_conv
              FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id
             WHERE c.id = v_target->>'conversation';
            IF NOT FOUND THEN
                outcome := '{"t": "not_found", "missing": "conversation"}';
                RETURN;
            END IF;
        ELSE
            v_new := v_target->'end_user';
            -- The end user's conversation, usually there already: then both inserts of the
            -- general path below would do nothing, so one read answers.
            SELECT c.id, c.end_user_id, u.client_id, c.channel_id, c.channel_address, c.ccd_developer_name,
                   c.routing_attributes, u.consent_status, c.created_at, c.updated_at
              INTO v_conv
              FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id
             WHERE u.channel_id = v_new->>'channel_id' AND u.client_id = v_new->>'client_id';
            IF NOT FOUND THEN
                INSERT INTO messaging_end_users (id, channel_id, client_id, created_at)
                VALUES (v_new->>'new_end_user_id', v_new->>'channel_id', v_new->>'client_id', v_now)
                ON CONFLICT (channel_id, client_id) DO NOTHING;
                SELECT id INTO STRICT v_end_user FROM messaging_end_users
                 WHERE channel_id = v_new->>'channel_id' AND client_id = v_new->>'client_id';
                INSERT INTO conversations (id, end_user_id, channel_id, channel_address, ccd_developer_name,
                                           routing_attributes, created_at, updated_at)
                VALUES (v_new->>'new_conversation_id', v_end_user, v_new->>'channel_id', v_new->>'channel_address',
                        v_new->>'ccd_developer_name', v_new->>'routing_attributes', v_now, v_now)
                ON CONFLICT (end_user_id) DO NOTHING;
                SELECT c.id, c.end_user_id, u.client_id, c.channel_id, c.channel_address, c.ccd_developer_name,
                       c.routing_attributes, u.consent_status, c.created_at, c.updated_at
                  INTO STRICT v_conv
                  FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id
                 WHERE c.end_user_id = v_end_user;
            END IF;
        END IF;

        v_session := p_op->'session';
        v_mode := v_session->>'mode';
        IF v_mode = 'current' THEN
            SELECT id, status INTO v_latest FROM messaging_sessions
             WHERE conversation_id = v_conv.id ORDER BY started_at DESC, id DESC LIMIT 1;
            IF FOUND THEN
                v_status := v_latest.status;
            END IF;
            IF v_status IS NULL OR v_status = 'Ended' THEN
                v_session_id := v_session->>'id';
                INSERT INTO messaging_sessions (id, conversation_id, status, started_at, ended_at)
                VALUES (v_session_id, v_conv.id, 'Active', v_now, NULL);
                touched_kinds := touched_kinds || 'session'::text;
            ELSE
                IF v_status = 'Inactive' THEN
                    UPDATE messaging_sessions SET status = 'Active' WHERE id = v_latest.id;
                    touched_kinds := touched_kinds || 'session'::text;
                END IF;
                v_session_id := v_latest.id;
            END IF;
        ELSIF v_mode = 'establish' THEN
            v_session_id := v_session->>'id';
            INSERT INTO messaging_sessions (id, conversation_id, status, started_at, ended_at)
            VALUES (v_session_id, v_conv.id,
                    CASE WHEN v_session->>'ended_at' IS NULL THEN 'Active' ELSE 'Ended' END,
                    (v_session->>'started_at')::bigint, (v_session->>'ended_at')::bigint);
            touched_kinds := touched_kinds || 'session'::text;
        ELSIF v_mode = 'attach' THEN
            PERFORM 1 FROM messaging_sessions WHERE id = v_session->>'id' AND conversation_id = v_conv.id;
            IF NOT FOUND THEN
                outcome := '{"t": "not_found", "missing": "session"}';
                RETURN;
            END IF;
            v_session_id := v_session->>'id';
        END IF;

        v_entries := p_op->'entries';
        v_count := jsonb_array_length(v_entries);
        FOR i IN 0 .. v_count - 1 LOOP
            v_entry := v_entries->i;
            INSERT INTO conversation_entries (conversation_id, entry_id, session_id, entry_type, sender_app_type,
                sender_subject, sender_role, client_timestamp, server_timestamp, text, message_type, format_type,
                acknowledged_entry_id, source, payload)
            VALUES (v_conv.id, v_entry->>'entry_id', v_session_id, v_entry->>'entry_type', v_entry->>'sender_app_type',
                v_entry->>'sender_subject', v_entry->>'sender_role', (v_entry->>'client_timestamp')::bigint, v_now,
                v_entry->>'text', v_entry->>'message_type', v_entry->>'format_type',
                v_entry->>'acknowledged_entry_id', v_entry->>'source', v_entry->>'payload')
            ON CONFLICT (conversation_id, entry_id) DO NOTHING;
            IF NOT FOUND THEN
                SELECT session_id INTO STRICT v_prior FROM conversation_entries
                 WHERE conversation_id = v_conv.id AND entry_id = v_entry->>'entry_id';
                v_stored := v_stored || jsonb_build_array(v_entry->>'entry_id', v_prior, true);
                CONTINUE;
            END IF;
            v_attachment := v_entry->'attachment';
            IF jsonb_typeof(v_attachment) = 'object' THEN
                v_blob := p_blobs[(v_attachment->>'blob')::int];
                INSERT INTO conversation_attachments (id, conversation_id, entry_id, name, mime_type, size, content, created_at)
                VALUES (v_attachment->>'id', v_conv.id, v_entry->>'entry_id', v_attachment->>'name',
                        v_attachment->>'mime_type', octet_length(v_blob), v_blob, v_now);
            END IF;
            v_stored := v_stored || jsonb_build_array(v_entry->>'entry_id', v_session_id, false);
            v_any_new := true;
        END LOOP;
        IF v_any_new THEN
            UPDATE conversations SET updated_at = v_now WHERE id = v_conv.id;
            touched_kinds := touched_kinds || 'entry'::text;
        ELSIF v_count = 0 THEN
            -- Establishing (or looking up) a conversation without entries.
            touched_kinds := touched_kinds || 'conversation'::text;
        END IF;
        -- A duplicate-only retry answers with the session the entry was stored in.
        IF v_count > 0 AND (v_stored[1]->>2)::boolean THEN
            v_answer := v_stored[1]->>1;
        ELSE
            v_answer := v_session_id;
        END IF;
        touched_conversation := v_conv.id;
        touched_channel := v_conv.channel_id;
        outcome := jsonb_build_object(
            't', 'appended',
            'conversation', jsonb_build_object(
                'id', v_conv.id, 'end_user_id', v_conv.end_user_id, 'client_id', v_conv.client_id,
                'channel_id', v_conv.channel_id, 'channel_address', v_conv.channel_address,
                'ccd_developer_name', v_conv.ccd_developer_name, 'routing_attributes', v_conv.routing_attributes,
                'consent_status', v_conv.consent_status, 'created_at', v_conv.created_at,
                'updated_at', v_conv.updated_at),
            'session_id', v_answer,
            'entries', to_jsonb(v_stored));

    ELSIF v_kind = 'consent' THEN
        INSERT INTO messaging_end_users (id, channel_id, client_id, consent_status, consent_updated_at, created_at)
        VALUES (p_op->>'new_end_user_id', p_op->>'channel_id', p_op->>'client_id', p_op->>'status', v_now, v_now)
        ON CONFLICT (channel_id, client_id) DO UPDATE
        SET consent_status = excluded.consent_status, consent_updated_at = excluded.consent_updated_at;
        SELECT c.id INTO v_conversation FROM conversations c JOIN messaging_end_users u ON u.id = c.end_user_id
         WHERE u.channel_id = p_op->>'channel_id' AND u.client_id = p_op->>'client_id';
        IF FOUND THEN
            touched_conversation := v_conversation;
            touched_channel := p_op->>'channel_id';
            touched_kinds := ARRAY['consent'];
        END IF;
        outcome := '{"t": "done"}';

    ELSIF v_kind = 'put_record' THEN
        INSERT INTO interaction_records (kind, record_key, conversation_id, body, updated_at)
        VALUES (p_op->>'kind', p_op->>'key', p_op->>'conversation_id', p_op->>'body', v_now)
        ON CONFLICT (kind, record_key) DO UPDATE
        SET conversation_id = excluded.conversation_id, body = excluded.body, updated_at = excluded.updated_at;
        IF p_op->>'conversation_id' IS NOT NULL THEN
            touched_conversation := p_op->>'conversation_id';
            touched_kinds := ARRAY['record'];
        END IF;
        outcome := '{"t": "done"}';

    ELSIF v_kind = 'session_status' THEN
        v_conversation := p_op->>'conversation_id';
        v_session_id := p_op->>'session_id';
        IF v_session_id IS NULL THEN
            SELECT id INTO v_session_id FROM messaging_sessions
             WHERE conversation_id = v_conversation ORDER BY started_at DESC, id DESC LIMIT 1;
            IF NOT FOUND THEN
                outcome := '{"t": "not_found", "missing": "session"}';
                RETURN;
            END IF;
        END IF;
        v_status := p_op->>'status';
        UPDATE messaging_sessions
           SET status = v_status,
               ended_at = COALESCE(CASE WHEN v_status = 'Ended' THEN v_now END, ended_at),
               ended_by = COALESCE(p_op->>'ended_by', ended_by)
         WHERE id = v_session_id AND conversation_id = v_conversation;
        IF NOT FOUND THEN
            outcome := '{"t": "not_found", "missing": "session"}';
            RETURN;
        END IF;
        UPDATE conversations SET updated_at = v_now WHERE id = v_conversation;
        touched_conversation := v_conversation;
        touched_kinds := ARRAY['session'];
        outcome := '{"t": "done"}';

    ELSE
        -- byoc checks this before calling (a unit cannot nest another).
        RAISE EXCEPTION 'byoc_apply_write: unknown op %', v_kind USING ERRCODE = '22023';
    END IF;
END
$fn$;

CREATE OR REPLACE FUNCTION byoc_write_batch(p_ops jsonb, p_blobs bytea[]) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
    v_op jsonb;
    v_inner jsonb;
    v_res record;
    v_outs jsonb[] := '{}';
    v_unit_outs jsonb[];
    v_unit_out jsonb;
    v_not_found boolean;
    v_claim jsonb;
    v_event jsonb;
    v_replay bigint;
    v_link_entry text;
    v_mark int;
    v_kind text;
    t_conv text[] := '{}';
    t_chan text[] := '{}';
    t_kind text[] := '{}';
    t_at bigint[] := '{}';
    v_rows int;
    v_head bigint;
BEGIN
    FOR v_op IN SELECT value FROM jsonb_array_elements(p_ops) LOOP
        IF v_op->>'op' <> 'unit' THEN
            v_res := byoc_apply_write(v_op, p_blobs);
            v_outs := v_outs || v_res.outcome;
            FOREACH v_kind IN ARRAY v_res.touched_kinds LOOP
                t_conv := t_conv || v_res.touched_conversation;
                t_chan := t_chan || v_res.touched_channel;
                t_kind := t_kind || v_kind;
                t_at := t_at || v_res.touched_at;
            END LOOP;
            CONTINUE;
        END IF;

        -- A unit: its savepoint. Locals keep what they were given when BY001 rolls it back.
        v_mark := cardinality(t_conv);
        v_unit_out := NULL;
        v_claim := v_op->'claim';
        BEGIN
            IF v_claim->>'kind' = 'idempotency_key' THEN
                -- On a concurrent holder of the same key (another instance) this waits for its
                -- commit, then does nothing: the key is taken once.
                INSERT INTO idempotency_keys (scope, idem_key, response, replay_id, created_at)
                VALUES (v_claim->>'scope', v_claim->>'key', v_claim->>'response', NULL, (v_claim->>'now')::bigint)
                ON CONFLICT (scope, idem_key) DO NOTHING;
                IF NOT FOUND THEN
                    SELECT jsonb_build_object('t', 'replayed', 'response', response, 'replay_id', replay_id)
                      INTO STRICT v_unit_out
                      FROM idempotency_keys WHERE scope = v_claim->>'scope' AND idem_key = v_claim->>'key';
                    RAISE EXCEPTION USING ERRCODE = 'BY001';
                END IF;
            ELSIF v_claim->>'kind' = 'record' THEN
                INSERT INTO interaction_records (kind, record_key, conversation_id, body, updated_at)
                VALUES (v_claim->>'record_kind', v_claim->>'key', v_claim->>'conversation_id', v_claim->>'body',
                        (v_claim->>'now')::bigint)
                ON CONFLICT (kind, record_key) DO UPDATE
                SET conversation_id = excluded.conversation_id, body = excluded.body, updated_at = excluded.updated_at
                WHERE interaction_records.body NOT LIKE '%' || (v_claim->>'held_when') || '%';
                IF NOT FOUND THEN
                    v_unit_out := '{"t": "held"}';
                    RAISE EXCEPTION USING ERRCODE = 'BY001';
                END IF;
                IF v_claim->>'conversation_id' IS NOT NULL THEN
                    t_conv := t_conv || (v_claim->>'conversation_id');
                    t_chan := t_chan || NULL::text;
                    t_kind := t_kind || 'record'::text;
                    t_at := t_at || (v_claim->>'now')::bigint;
                END IF;
            END IF;

            v_unit_outs := '{}';
            v_not_found := false;
            v_link_entry := NULL;
            FOR v_inner IN SELECT value FROM jsonb_array_elements(v_op->'ops') LOOP
                v_res := byoc_apply_write(v_inner, p_blobs);
                v_unit_outs := v_unit_outs || v_res.outcome;
                v_not_found := v_not_found OR (v_res.outcome->>'t' = 'not_found');
                IF v_link_entry IS NULL AND v_res.outcome->>'t' = 'appended' THEN
                    SELECT e.v->>0 INTO v_link_entry FROM jsonb_array_elements(v_res.outcome->'entries') AS e(v)
                     WHERE NOT (e.v->>2)::boolean LIMIT 1;
                END IF;
                FOREACH v_kind IN ARRAY v_res.touched_kinds LOOP
                    t_conv := t_conv || v_res.touched_conversation;
                    t_chan := t_chan || v_res.touched_channel;
                    t_kind := t_kind || v_kind;
                    t_at := t_at || v_res.touched_at;
                END LOOP;
            END LOOP;
            IF v_not_found THEN
                v_unit_out := jsonb_build_object('t', 'unit', 'outcomes', to_jsonb(v_unit_outs), 'replay_id', NULL);
                RAISE EXCEPTION USING ERRCODE = 'BY001';
            END IF;

            v_replay := NULL;
            v_event := v_op->'event';
            IF jsonb_typeof(v_event) = 'object' THEN
                -- The outbox: the event is appended with the writes it announces
                -- (tx_append_events, for one event).
                INSERT INTO platform_event_topics (topic, last_replay_id) VALUES (v_event->>'topic', 0)
                ON CONFLICT (topic) DO NOTHING;
                UPDATE platform_event_topics SET last_replay_id = last_replay_id + 1
                 WHERE topic = v_event->>'topic' RETURNING last_replay_id INTO STRICT v_replay;
                INSERT INTO platform_events (topic, replay_id, event_id, schema_id, payload, created_at)
                VALUES (v_event->>'topic', v_replay, v_event->>'event_id', v_event->>'event_schema_id',
                        p_blobs[(v_event->>'payload_blob')::int], (v_event->>'created_at')::bigint);
                INSERT INTO platform_event_schemas (schema_id, topic, schema_json, created_at)
                VALUES (v_event->>'schema_id', v_event->>'schema_topic', v_event->>'schema_json',
                        (v_event->>'created_at')::bigint)
                ON CONFLICT (schema_id) DO NOTHING;
                -- The live feed shows a delivery of this event on the conversation (and the
                -- agent entry) it carries: the unit's first touched conversation.
                IF cardinality(t_conv) > v_mark THEN
                    INSERT INTO live_event_links (topic, replay_id, conversation_id, entry_id, created_at)
                    VALUES (v_event->>'topic', v_replay, t_conv[v_mark + 1], v_link_entry,
                            (v_event->>'created_at')::bigint)
                    ON CONFLICT (topic, replay_id) DO NOTHING;
                END IF;
                IF v_claim->>'kind' = 'idempotency_key' THEN
                    UPDATE idempotency_keys SET replay_id = v_replay
                     WHERE scope = v_claim->>'scope' AND idem_key = v_claim->>'key';
                END IF;
            END IF;
            v_unit_out := jsonb_build_object('t', 'unit', 'outcomes', to_jsonb(v_unit_outs), 'replay_id', v_replay);
        EXCEPTION WHEN SQLSTATE 'BY001' THEN
            -- Refused: what the unit touched does not count either.
            t_conv := t_conv[1:v_mark];
            t_chan := t_chan[1:v_mark];
            t_kind := t_kind[1:v_mark];
            t_at := t_at[1:v_mark];
        END;
        v_outs := v_outs || v_unit_out;
    END LOOP;

    -- The live feed rows of what the batch touched (tx_feed_touched), last, so the feed's head
    -- row is locked only for the commit itself.
    IF cardinality(t_conv) > 0 THEN
        SELECT count(DISTINCT c) INTO v_rows FROM unnest(t_conv) c;
        UPDATE live_feed_head SET last_seq = last_seq + v_rows WHERE id = 1 RETURNING last_seq INTO STRICT v_head;
        INSERT INTO live_feed (seq, kind, conversation_id, body, created_at)
        WITH t AS (
            SELECT * FROM unnest(t_conv, t_chan, t_kind, t_at)
                WITH ORDINALITY AS x(conv, chan, touch_kind, at_ms, n)
        ), kinds AS (
            SELECT conv, touch_kind, min(n) AS first_n FROM t GROUP BY conv, touch_kind
        ), per AS (
            SELECT conv,
                   min(n) AS first_n,
                   max(at_ms) AS at_ms,
                   (array_agg(chan ORDER BY n) FILTER (WHERE chan IS NOT NULL))[1] AS chan
              FROM t GROUP BY conv
        ), feed AS (
            SELECT per.conv, per.first_n, per.at_ms,
                   COALESCE(per.chan, (SELECT c.channel_id FROM conversations c WHERE c.id = per.conv)) AS chan,
                   (SELECT string_agg(to_json(k.touch_kind)::text, ',' ORDER BY k.first_n)
                      FROM kinds k WHERE k.conv = per.conv) AS kind_list
              FROM per
        )
        -- The body is the JSON serde_json writes on the Rust path: keys sorted, no spaces.
        SELECT v_head - v_rows + row_number() OVER (ORDER BY feed.first_n), 'conversation', feed.conv,
               '{"at":' || feed.at_ms || ',"channelId":' || COALESCE(to_json(feed.chan)::text, 'null')
                   || ',"conversationId":' || to_json(feed.conv)::text || ',"kinds":[' || feed.kind_list || ']}',
               feed.at_ms
          FROM feed;
        PERFORM pg_notify('byoc_live', v_head::text);
    END IF;

    RETURN to_jsonb(v_outs);
END
$fn$;
