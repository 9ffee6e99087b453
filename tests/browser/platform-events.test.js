// Pub/Sub at a glance in the browser: the Platform Events page lists the sample CCD's topic, an
// agent reply as a stored event with its replay id and decoded text, and `byoc listen` (the
// subscriber generated from the official pubsub_api.proto) as an active subscription while it
// runs — gone when it stops; axe-core; the screenshot for the docs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browser, sharedOrg, login, watch, screenshot, assertAccessible, partnerEnv, unique } from './lib/harness.js';
import { partner, byoc, listen, messageOf } from './lib/agent.js';

const PAGE = '/lightning/setup/EventObjects/home';

let org;
let chromium;
before(async () => {
  org = await sharedOrg();
  chromium = await browser();
});
after(async () => {
  await chromium?.close();
});

/// Reloads `page` until `check()` holds (the page is a snapshot; it need not update by itself).
async function reloadUntil(page, check, what, timeout = 20_000) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`${what}: not on ${page.url()} within ${timeout / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
    await page.reload();
  }
}

test('topics, a stored agent reply with its replay id and decoded text, the live subscription', async (t) => {
  const env = partnerEnv(org);
  const topicName = env.SF_PUB_SUB_TOPIC_NAME; // /event/<Custom_Event__e>
  const sample = await partner(org);
  const sent = await sample.sendText(unique('pe-user').replace(' ', '-'), 'Where is my parcel?');
  const conversation = sent.body.conversationIdentifier;

  const page = await chromium.newPage();
  const problems = watch(page);
  await login(page, org);
  await page.goto(`${org.login_url}${PAGE}`);
  await page.getByRole('heading', { level: 1, name: 'Platform Events' }).waitFor();
  const topics = page.locator('#topics');
  assert.match(await topics.innerText(), new RegExp(topicName.replace('/event/', '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
    `the sample CCD's topic ${topicName} is listed`);
  const subscriptions = page.locator('#subscriptions tr[data-subscription-id]');
  const before = await subscriptions.count();

  // The agent replies (`byoc agent reply`): a stored event with its replay id, decoded.
  const text = `Your parcel is at the depot ${Date.now()}`;
  const reply = await byoc(org, ['agent', 'reply', '--conversation', conversation, '--text', text], { json: true });
  assert.ok(reply.replayId !== undefined, `the reply names its replay id: ${JSON.stringify(reply).slice(0, 300)}`);
  const stored = page.locator(`#stored-events tr[data-replay-id="${reply.replayId}"]`);
  await reloadUntil(page, async () => (await stored.count()) > 0, `stored event ${reply.replayId}`);
  assert.ok((await stored.innerText()).includes(text) || (await stored.textContent()).includes(text),
    'the stored event shows the decoded reply text');

  // A subscriber built from the official proto: listed while subscribed, with its pending count.
  const listener = listen(org);
  try {
    const got = await listener.waitFor((e) => messageOf(e).text === text, 'the reply');
    assert.equal(String(got.replayId), String(reply.replayId), 'the subscriber got the replay id the page shows');
    await reloadUntil(page, async () => (await subscriptions.count()) > before, 'the active subscription');
    const row = subscriptions.last();
    const rowText = await row.innerText();
    t.diagnostic(`subscription row: ${rowText.replace(/\s+/g, ' ')}`);
    assert.match(rowText, new RegExp(topicName.replace('/event/', '')), 'the subscription names its topic');
    assert.match(rowText, /\d/, 'the subscription shows its counts');
    await assertAccessible(t, page);
    await screenshot(page, 'platform-events');
  } finally {
    listener.stop();
  }
  await reloadUntil(page, async () => (await subscriptions.count()) === before, 'the subscription gone after the subscriber stopped');
  await assertAccessible(t, page);
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('hostile topic paths answer 404, never 500', async () => {
  const page = await chromium.newPage();
  await login(page, org);
  for (const path of ['/lightning/setup/EventObjects/%00/view', '/lightning/setup/EventObjects/..%2f..%2fetc/view',
    `/lightning/setup/EventObjects/${'x'.repeat(5000)}/view`, '/lightning/setup/EventObjects/No_Such__e/view']) {
    const response = await page.request.get(`${org.login_url}${path}`);
    assert.equal(response.status(), 404, `${path.slice(0, 60)}: ${response.status()}`);
  }
  await page.close();
});
