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

test('New Platform Event and New Custom Field: the forms, a refused value kept with its message, the fields listed', async (t) => {
  const page = await chromium.newPage();
  // The refused field answers 400 with the form again, as Setup's forms do here.
  const problems = watch(page, { allowStatus: true });
  await login(page, org);
  await page.goto(`${org.login_url}${PAGE}`);
  await page.getByRole('link', { name: 'New Platform Event' }).first().click();
  await page.getByRole('textbox', { name: 'Label', exact: true }).waitFor();
  await assertAccessible(t, page);

  // Names unique per run: the org is shared by every browser test.
  const name = `Browser_${Date.now()}`;
  await page.getByRole('textbox', { name: 'Label', exact: true }).fill('Browser Outbound');
  await page.getByRole('textbox', { name: 'Object Name' }).fill(name);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Custom Fields' }).waitFor();
  assert.ok(page.url().includes(`${name}__e`), `the new event's page: ${page.url()}`);

  // A Text field longer than 255 is refused: the message, and the typed values kept.
  await page.getByRole('link', { name: 'New Custom Field' }).click();
  await page.getByRole('textbox', { name: 'Field Label' }).waitFor();
  await assertAccessible(t, page);
  await page.getByRole('combobox', { name: 'Data Type' }).selectOption('Text');
  await page.getByRole('textbox', { name: 'Field Label' }).fill('Kind');
  await page.getByRole('textbox', { name: 'Field Name' }).fill('Kind');
  await page.getByRole('spinbutton', { name: 'Length' }).fill('300');
  await page.getByRole('button', { name: 'Save' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.innerText(), /255/, 'the message names the limit');
  assert.equal(await page.getByRole('textbox', { name: 'Field Name' }).inputValue(), 'Kind', 'the typed name is kept');
  await assertAccessible(t, page);

  await page.getByRole('spinbutton', { name: 'Length' }).fill('40');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { name: 'Custom Fields' }).waitFor();
  const fields = page.locator('#custom-fields');
  assert.match(await fields.innerText(), /Kind__c/, 'the field is listed on the event');
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});
