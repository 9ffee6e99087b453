// What the agent console, inspector and Platform Events tests share beyond lib/harness.js: the
// partner's side with the sample app of partner.env (a token, then text, typing indicators and
// files sent to the Interaction API as a connector sends them), the `byoc` CLI (BYOC_BIN) —
// `byoc send`, `byoc conversations show` and `byoc listen --output json`, the Pub/Sub subscriber
// generated from the official pubsub_api.proto — and a guard that a page was never reloaded.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { byocBin, partnerEnv } from './harness.js';
import { assertion, token } from './partner.js';

// ---- the partner: the sample app's token and the Interaction API -------------------------------

/// The partner connector of the org's partner.env: a JWT Bearer token for the sample app, then
/// `sendText`, `sendTyping` and `sendFile` from an end user to the sample channel address. Each
/// returns `{ status, body }` of `POST /api/v1/interactions` (202: `body.conversationIdentifier`).
export async function partner(org) {
  const env = partnerEnv(org);
  const jwt = assertion({
    consumerKey: env.SF_CONSUMER_KEY,
    username: env.SF_SUBJECT,
    audience: env.SF_AUDIENCE,
    privateKeyPem: env.SF_PRIVATE_KEY,
  });
  const granted = await token(org.login_url, jwt);
  if (granted.status !== 200) throw new Error(`the sample app's token: ${granted.status} ${JSON.stringify(granted.body)}`);
  const accessToken = granted.body.access_token;

  async function post(from, interaction, file) {
    const request = { to: env.CHANNEL_ADDRESS_IDENTIFIER, from, interactions: [interaction] };
    const form = new FormData();
    form.append('json', new Blob([JSON.stringify(request)], { type: 'application/json' }));
    if (file) form.append('attachments', new Blob([file.bytes], { type: file.type }), file.name);
    const response = await fetch(`${env.SF_SCRT_INSTANCE_URL}/api/v1/interactions`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${accessToken}`,
        OrgId: env.SF_ORG_ID,
        AuthorizationContext: env.SF_AUTHORIZATION_CONTEXT,
        RequestId: randomUUID(),
      },
      body: form,
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    const answer = { status: response.status, body: json ?? text };
    if (answer.status !== 202) throw new Error(`Interaction API refused: ${answer.status} ${text}`);
    return answer;
  }

  const entry = (payload) => ({ timestamp: Date.now(), interactionType: 'EntryInteraction', payload });
  return {
    env,
    accessToken,
    /// A text message (`EntryInteraction` / `Message` / `StaticContentMessage`).
    sendText(from, text) {
      const id = randomUUID();
      return post(from, entry({
        id,
        entryType: 'Message',
        abstractMessage: { messageType: 'StaticContentMessage', id, staticContent: { formatType: 'Text', text } },
      }));
    },
    /// `TypingStartedIndicator` (`'start'`) or `TypingStoppedIndicator` (`'stop'`).
    sendTyping(from, which) {
      const entryType = which === 'start' ? 'TypingStartedIndicator' : 'TypingStoppedIndicator';
      return post(from, entry({ id: randomUUID(), entryType, timestamp: Date.now() }));
    },
    /// A file as an `AttachmentInteraction` with its `attachments` part: `file` is
    /// `{ name, type, bytes }`.
    sendFile(from, file, text) {
      const interaction = {
        timestamp: Date.now(),
        interactionType: 'AttachmentInteraction',
        id: randomUUID(),
        attachmentIndex: 0,
        contentLength: file.bytes.length,
      };
      if (text !== undefined) interaction.text = text;
      return post(from, interaction, file);
    },
  };
}

// ---- the CLI --------------------------------------------------------------------------------------

/// `byoc --data-dir <org> ...args`: resolves `{ code, stdout, stderr }`; `json: true` adds
/// `--output json` and parses stdout (throwing on a non-zero exit).
export function byoc(org, args, { json = false } = {}) {
  const argv = ['--data-dir', org.dataDir, ...args, ...(json ? ['--output', 'json'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(byocBin(), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!json) return resolve({ code, stdout, stderr });
      if (code !== 0) return reject(new Error(`byoc ${args.join(' ')} exited ${code}: ${stderr}${stdout}`));
      try { resolve(JSON.parse(stdout)); } catch (e) { reject(new Error(`byoc ${args.join(' ')}: not JSON: ${stdout}`)); }
    });
  });
}

/// `byoc listen --output json` in the background: the Pub/Sub subscriber generated from the
/// official pubsub_api.proto, with the partner.env settings. `replay` defaults to `earliest` so
/// an event published before the subscription is established is still seen (tests pick theirs by
/// conversation and text). `waitFor(predicate, what)` resolves the first decoded event that
/// matches; `stop()` ends the process.
export function listen(org, { replay = 'earliest' } = {}) {
  const child = spawn(byocBin(), ['--data-dir', org.dataDir, 'listen', '--replay', replay, '--output', 'json'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const events = [];
  const waiters = [];
  let buffer = '';
  let stderr = '';
  let exited = null;
  const check = () => {
    for (const w of [...waiters]) {
      const found = events.find(w.predicate);
      if (found) { waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(found); }
      else if (exited !== null) {
        waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer);
        w.reject(new Error(`byoc listen exited ${exited} before ${w.what}: ${stderr}`));
      }
    }
  };
  child.stdout.on('data', (d) => {
    buffer += d;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) events.push(JSON.parse(line));
    }
    check();
  });
  child.stderr.on('data', (d) => { stderr += d; });
  child.on('exit', (code) => { exited = code ?? -1; check(); });
  return {
    events,
    waitFor(predicate, what, timeout = 20_000) {
      return new Promise((resolve, reject) => {
        const w = { predicate, what, resolve, reject };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`byoc listen: no event with ${what} in ${timeout / 1000} s; got ${events.length} events: `
            + `${JSON.stringify(events.map(messageOf)).slice(0, 2000)}\n${stderr}`));
        }, timeout);
        waiters.push(w);
        check();
      });
    },
    stop() { if (exited === null) child.kill('SIGTERM'); },
  };
}

/// What an `InteractionEvent` of `byoc listen --output json` carries: conversation, entry type,
/// text and attachments of the decoded payload.
export function messageOf(event) {
  const i = event.interactionEvent || {};
  const content = i.payload?.entryPayload?.abstractMessage?.staticContent || {};
  return {
    conversationId: i.conversationIdentifier,
    entryType: i.payload?.entryType,
    text: content.text,
    attachments: content.attachments || [],
    replayId: event.replayId,
  };
}

// ---- the page -------------------------------------------------------------------------------------

/// Marks the page's document and records its main-frame navigations; `assertNoReload()` throws if
/// the document was replaced since (a reload or any navigation), so "appeared without a reload"
/// can fail.
export async function noReload(page) {
  const navigations = [];
  const onNavigate = (frame) => { if (frame === page.mainFrame()) navigations.push(frame.url()); };
  page.on('framenavigated', onNavigate);
  const mark = randomUUID();
  await page.evaluate((m) => { window.__byocDocument = m; }, mark);
  return {
    async assertNoReload(what) {
      const still = await page.evaluate(() => window.__byocDocument);
      if (navigations.length || still !== mark) {
        throw new Error(`${what}: the page navigated (${navigations.join(', ') || 'document replaced'})`);
      }
    },
    stop() { page.off('framenavigated', onNavigate); },
  };
}

/// A small valid PNG (a 2x2 image), so an `<img>` preview really renders.
export const PNG_2X2 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFElEQVR4nGP4z8DAwPAfhP7//w8AH+4F+3uLQwgAAAAASUVORK5CYII=',
  'base64',
);
