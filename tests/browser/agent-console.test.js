// The agent console in the browser, against the wire as a partner uses it: messages sent with the
// partner's code (the Interaction API, as partner.env's app) and with `byoc send` appear in an
// already open conversation list and conversation page within a second, without a reload; the
// reply typed in the browser (Enter) reaches `byoc listen`, the Pub/Sub subscriber generated from
// the official pubsub_api.proto; typing indicators show "typing…" and clear; files go both ways
// byte for byte; a dropped and restored live connection loses and duplicates nothing; the pages
// pass axe-core and announce new messages to screen readers; the reply works without JavaScript.
//
// An org of its own (the sample setup, as `byoc serve` gives a new user), so the screenshots show
// only this test's conversations.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { browser, startOrg, login, watch, screenshot, assertAccessible, unique } from './lib/harness.js';
import { partner, byoc, listen, messageOf, noReload, PNG_2X2 } from './lib/agent.js';

const LIST = '/lightning/o/Conversation/list';
const view = (id) => `/lightning/r/Conversation/${id}/view`;

let org;
let chromium;
let sample; // the partner connector of partner.env
let listener; // `byoc listen --output json`, running for the whole file
// The conversation most tests work in (end user `alice`), created by the first test.
const alice = `alice-${Date.now().toString(36)}`;
let aliceConversation;

before(async () => {
  org = await startOrg();
  chromium = await browser({ acceptDownloads: true });
  sample = await partner(org);
  listener = listen(org);
  // Log the browser in once; every page of the context shares the session cookie. This first
  // page stays open: closing a context's last page ends the browser session and its cookie.
  const page = await chromium.newPage();
  await login(page, org);
});
after(async () => {
  listener?.stop();
  await chromium?.close();
  await org?.stop();
});

/// Waits until the page's live connection is up (`window.byocLive` exists and `#live-status`, where
/// the page has one, says "Live"), so what is sent next is what the page must show by itself.
async function live(page) {
  await page.waitForFunction(() => window.byocLive && typeof window.byocLive.connect === 'function');
  if (await page.locator('#live-status').count()) {
    await page.locator('#live-status').filter({ hasText: /^\s*Live\s*$/ }).waitFor();
  }
}

/// The product requirement: `locator` is on screen within a second of the sender's answer. On a
/// miss, says whether it came later or never (to tell slow from broken), and fails either way.
async function withinASecond(locator, what) {
  try {
    await locator.first().waitFor({ timeout: 1000 });
  } catch {
    const later = await locator.first().waitFor({ timeout: 10_000 }).then(() => true, () => false);
    throw new Error(`${what}: not on screen within 1 s (${later ? 'it came later' : 'not within 11 s either'})`);
  }
}

async function openPage(path) {
  const page = await chromium.newPage();
  const problems = watch(page);
  await page.goto(`${org.login_url}${path}`);
  return { page, problems };
}

const transcript = (page) => page.locator('#transcript');
const endUserEntry = (page, text) => transcript(page).locator('li.entry.entry-end-user').filter({ hasText: text });
const agentEntry = (page, text) => transcript(page).locator('li.entry.entry-agent').filter({ hasText: text });

test('a message from the partner\'s code or `byoc send` is in the open list and conversation within a second, no reload', async (t) => {
  const first = await sample.sendText(alice, 'Hello, I have a question about my order');
  aliceConversation = first.body.conversationIdentifier;
  assert.ok(aliceConversation, 'the Interaction API names the conversation');

  const list = await openPage(LIST);
  await list.page.locator(`#conversation-list tr[data-conversation-id="${aliceConversation}"]`).waitFor();
  const conversation = await openPage(view(aliceConversation));
  await endUserEntry(conversation.page, 'Hello, I have a question about my order').waitFor();
  await live(list.page);
  await live(conversation.page);
  const listGuard = await noReload(list.page);
  const conversationGuard = await noReload(conversation.page);

  // A new end user, with the CLI a new user types (`byoc send --text`): a new row in the list.
  const bob = unique('bob').replace(' ', '-');
  const sent = await byoc(org, ['send', '--text', 'hi', '--from', bob], { json: true });
  const bobRow = list.page.locator(`#conversation-list tr[data-conversation-id="${sent.conversationIdentifier}"]`);
  await withinASecond(bobRow, '`byoc send --text hi` in the open conversation list');
  // Newest activity first.
  assert.equal(await list.page.locator('#conversation-list tr[data-conversation-id]').first()
    .getAttribute('data-conversation-id'), sent.conversationIdentifier);

  // The open conversation gets the partner's next message in its transcript...
  const text = `Order ${Date.now()} has not arrived`;
  await sample.sendText(alice, text);
  await withinASecond(endUserEntry(conversation.page, text), 'the partner\'s message in the open conversation');
  // ...and the list moves that conversation back to the top, with the message as its preview.
  const top = list.page.locator('#conversation-list tr[data-conversation-id]').first();
  await list.page.waitForFunction((id) => document.querySelector('#conversation-list tr[data-conversation-id]')
    ?.getAttribute('data-conversation-id') === id, aliceConversation);
  await top.filter({ hasText: text.slice(0, 20) }).waitFor();

  await listGuard.assertNoReload('the conversation list');
  await conversationGuard.assertNoReload('the conversation page');
  assert.deepEqual([...list.problems, ...conversation.problems], [], 'no console errors or CSP violations');
  await list.page.close();
  await conversation.page.close();
  t.diagnostic(`conversations ${aliceConversation} and ${sent.conversationIdentifier}`);
});

test('the reply typed in the browser (keyboard only, Enter sends) reaches `byoc listen` decoded', async () => {
  const { page, problems } = await openPage(view(aliceConversation));
  await live(page);
  const guard = await noReload(page);

  // Keyboard: Tab from the top of the page reaches the reply box.
  const box = page.getByLabel('Message', { exact: true });
  let reached = false;
  for (let i = 0; i < 100 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await box.evaluate((el) => el === document.activeElement);
  }
  assert.ok(reached, 'Tab reaches the reply box ("Message")');
  // Shift+Enter is a new line, not a send.
  await page.keyboard.type('Your order ships today.');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('Tracking follows by mail.');
  assert.equal(await box.inputValue(), 'Your order ships today.\nTracking follows by mail.');
  assert.equal(await agentEntry(page, 'Your order ships today.').count(), 0, 'Shift+Enter did not send');
  await page.keyboard.press('Enter');

  const event = await listener.waitFor((e) => {
    const m = messageOf(e);
    return m.conversationId === aliceConversation && m.text === 'Your order ships today.\nTracking follows by mail.';
  }, 'the reply typed in the browser');
  assert.equal(messageOf(event).entryType, 'Message');
  // The box is emptied, the reply is in the transcript and, once the subscriber has it, the page
  // says so.
  await page.waitForFunction(() => document.querySelector('#reply-form textarea[name="text"]').value === '');
  const reply = agentEntry(page, 'Your order ships today.');
  await reply.waitFor();
  await reply.filter({ hasText: 'Delivered to subscriber' }).waitFor();
  await guard.assertNoReload('sending the reply with Enter');
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('typing indicators: "typing…" appears on TypingStartedIndicator and clears on TypingStoppedIndicator', async () => {
  const { page, problems } = await openPage(view(aliceConversation));
  await live(page);
  const indicator = page.locator('#typing-indicator');
  assert.ok(await indicator.isHidden(), 'no typing indicator before the end user types');
  const lines = await transcript(page).locator('li.entry').count();

  await sample.sendTyping(alice, 'start');
  await indicator.filter({ hasText: 'typing…' }).waitFor({ state: 'visible' });
  await sample.sendTyping(alice, 'stop');
  await indicator.waitFor({ state: 'hidden' });

  // Started again, then a message: the message ends the typing too.
  await sample.sendTyping(alice, 'start');
  await indicator.waitFor({ state: 'visible' });
  await sample.sendText(alice, 'Thanks!');
  await endUserEntry(page, 'Thanks!').waitFor();
  await indicator.waitFor({ state: 'hidden' });
  // Indicators are not transcript lines: only the message was added.
  assert.equal(await transcript(page).locator('li.entry').count(), lines + 1);
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('attachments both ways: the end user\'s image and file in the console, the agent\'s file at the subscriber', async () => {
  const { page, problems } = await openPage(view(aliceConversation));
  await live(page);

  // The end user's image: previewed (it really decodes) and the same bytes.
  await sample.sendFile(alice, { name: 'pixel.png', type: 'image/png', bytes: PNG_2X2 });
  const img = endUserEntry(page, '').locator('img').last();
  await img.waitFor();
  await page.waitForFunction((el) => el.complete && el.naturalWidth === 2, await img.elementHandle());
  const src = await img.getAttribute('src');
  assert.match(src, new RegExp(`/lightning/r/Conversation/${aliceConversation}/attachments/`));
  const preview = await page.request.get(new URL(src, page.url()).href);
  assert.equal(preview.status(), 200);
  assert.ok(Buffer.from(await preview.body()).equals(PNG_2X2), 'the preview is the image sent');
  assert.equal(preview.headers()['x-content-type-options'], 'nosniff');

  // The end user's file: a download link that downloads exactly the bytes sent.
  const notes = Buffer.from(`delivery notes ${Date.now()}\n<script>alert(1)</script>\n`);
  await sample.sendFile(alice, { name: 'notes.html', type: 'text/html', bytes: notes }, 'my notes');
  const link = transcript(page).getByRole('link', { name: /notes\.html/ });
  await link.waitFor();
  assert.match(await link.getAttribute('href'), new RegExp(`^/lightning/r/Conversation/${aliceConversation}/attachments/`));
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.ok(readFileSync(await download.path()).equals(notes), 'the downloaded file is the file sent');
  // Never served as HTML from the console's origin.
  const served = await page.request.get(new URL(await link.getAttribute('href'), page.url()).href);
  assert.doesNotMatch(served.headers()['content-type'] || '', /html/);
  assert.match(served.headers()['content-disposition'] || '', /^attachment/);

  // The agent attaches a file in the reply form: it reaches the subscriber, bytes and all.
  const pdf = Buffer.from(`%PDF-1.4\n% return label ${Date.now()}\n%%EOF\n`);
  await page.getByLabel('Attach file').setInputFiles({ name: 'return-label.pdf', mimeType: 'application/pdf', buffer: pdf });
  await page.getByLabel('Message', { exact: true }).fill('Here is your return label');
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const event = await listener.waitFor((e) => {
    const m = messageOf(e);
    return m.conversationId === aliceConversation && m.attachments.some((a) => a.name === 'return-label.pdf');
  }, 'the agent\'s attachment');
  const attachment = messageOf(event).attachments.find((a) => a.name === 'return-label.pdf');
  assert.equal(attachment.mimeType, 'application/pdf');
  // Downloaded as the partner's connector does: the event's URL with the partner's token.
  const fetched = await fetch(attachment.url, { headers: { Authorization: `Bearer ${sample.accessToken}` } });
  assert.equal(fetched.status, 200);
  assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(pdf), 'the subscriber gets the file attached');
  // `byoc conversations show` lists it too, and the transcript shows it as the agent's.
  const shown = await byoc(org, ['conversations', 'show', aliceConversation], { json: true });
  assert.ok(JSON.stringify(shown).includes('return-label.pdf'), '`byoc conversations show` has the attachment');
  await agentEntry(page, 'return-label.pdf').waitFor();
  assert.equal(await page.getByLabel('Attach file').inputValue(), '', 'the file input is cleared after sending');
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('dropping and restoring the live connection loses no entry and duplicates none', async () => {
  const { page, problems } = await openPage(view(aliceConversation));
  await live(page);
  const guard = await noReload(page);
  const before = await page.evaluate(() => Number(window.byocLive.lastEventId));

  await page.evaluate(() => window.byocLive.disconnect());
  const texts = [1, 2, 3].map((n) => `while offline ${n} ${Date.now()}`);
  for (const text of texts) await sample.sendText(alice, text);
  await page.evaluate(() => window.byocLive.connect());
  // What was missed arrives by the reconnect itself (no further message needed)...
  for (const text of texts) await endUserEntry(page, text).first().waitFor();
  // ...and a message after it: once it is shown, every event before it has been handled.
  const barrier = `back online ${Date.now()}`;
  await sample.sendText(alice, barrier);
  await endUserEntry(page, barrier).waitFor();
  await live(page);

  for (const text of texts) {
    assert.equal(await endUserEntry(page, text).count(), 1, `"${text}" shown exactly once`);
  }
  const ids = await transcript(page).locator('li.entry[data-entry-id]').evaluateAll((lis) => lis.map((li) => li.dataset.entryId));
  assert.equal(new Set(ids).size, ids.length, 'no entry twice in the transcript');
  // What the server stores, in the same order.
  const shown = await byoc(org, ['conversations', 'show', aliceConversation], { json: true });
  const stored = JSON.stringify(shown);
  const order = [...texts, barrier].map((t) => stored.indexOf(t));
  assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])), 'stored in the order sent');
  const onPage = await transcript(page).innerText();
  const pageOrder = [...texts, barrier].map((t) => onPage.indexOf(t));
  assert.ok(pageOrder.every((i, n) => n === 0 || i > pageOrder[n - 1]), 'shown in the order sent');
  assert.ok(await page.evaluate(() => Number(window.byocLive.lastEventId)) > before, 'lastEventId moved on');
  await guard.assertNoReload('reconnecting');
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('filters, End conversation, accessibility and the screen reader announcements', async (t) => {
  // Carol's conversation, ended from her page.
  const carol = unique('carol').replace(' ', '-');
  const sent = await sample.sendText(carol, 'Never mind, found it');
  const carolConversation = sent.body.conversationIdentifier;
  const { page, problems } = await openPage(view(carolConversation));
  await endUserEntry(page, 'Never mind, found it').waitFor();
  await page.getByRole('button', { name: 'End conversation' }).click();
  await page.waitForLoadState('load');
  const ended = await byoc(org, ['conversations', 'show', carolConversation], { json: true });
  assert.match(JSON.stringify(ended), /[Ee]nded|Closed|Inactive/, '`byoc conversations show` has the session ended');

  // The list: filters by status (and the channel filter is there, labelled).
  await page.goto(`${org.login_url}${LIST}`);
  await assertAccessible(t, page);
  assert.ok(await page.getByLabel('Channel', { exact: true }).count(), 'a Channel filter');
  const status = page.getByLabel('Status', { exact: true });
  const rowOf = (id) => page.locator(`#conversation-list tr[data-conversation-id="${id}"]`);
  const options = await status.locator('option').allTextContents();
  const endedLabel = options.find((o) => /ended/i.test(o));
  const activeLabel = options.find((o) => /active/i.test(o));
  assert.ok(endedLabel && activeLabel, `Status offers Active and Ended: ${options.join(', ')}`);
  await status.selectOption({ label: endedLabel });
  await Promise.all([page.waitForURL(/status=/), page.getByRole('button', { name: /Filter|Apply|Go|Search/ }).first().click()]);
  await rowOf(carolConversation).waitFor();
  assert.equal(await rowOf(aliceConversation).count(), 0, 'an active conversation is not among the ended ones');
  await page.getByLabel('Status', { exact: true }).selectOption({ label: activeLabel });
  await Promise.all([page.waitForURL(/status=/), page.getByRole('button', { name: /Filter|Apply|Go|Search/ }).first().click()]);
  await rowOf(aliceConversation).waitFor();
  assert.equal(await rowOf(carolConversation).count(), 0, 'an ended conversation is not among the active ones');
  await page.goto(`${org.login_url}${LIST}`);
  await screenshot(page, 'agent-list');

  // The conversation page, with messages both ways, a file and an image: axe, then the live region.
  await page.goto(`${org.login_url}${view(aliceConversation)}`);
  await live(page);
  await assertAccessible(t, page);
  const announcer = page.locator('#live-announcer');
  const role = await announcer.getAttribute('role');
  const ariaLive = await announcer.getAttribute('aria-live');
  assert.ok(role === 'log' || ariaLive === 'polite', `#live-announcer is a live region (role=${role}, aria-live=${ariaLive})`);
  const text = `Is anyone there? ${Date.now()}`;
  await sample.sendText(alice, text);
  await announcer.filter({ hasText: `New message from` }).filter({ hasText: text }).waitFor({ state: 'attached' });
  t.diagnostic(`announced: ${(await announcer.innerText()).split('\n').filter(Boolean).pop()}`);
  // The agent's own messages are not announced as the end user's.
  await page.getByLabel('Message', { exact: true }).fill('Yes, I am here');
  await page.getByLabel('Message', { exact: true }).press('Enter');
  await agentEntry(page, 'Yes, I am here').waitFor();
  assert.doesNotMatch(await announcer.textContent(), /New message from[^\n]*Yes, I am here/);
  await sample.sendTyping(alice, 'start');
  await page.locator('#typing-indicator').waitFor({ state: 'visible' });
  await assertAccessible(t, page);
  await screenshot(page, 'agent-conversation');
  await sample.sendTyping(alice, 'stop');
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('without JavaScript the reply form still sends (POST, then back to the conversation)', async () => {
  const plain = await browser({ javaScriptEnabled: false });
  try {
    const page = await plain.newPage();
    await login(page, org);
    await page.goto(`${org.login_url}${view(aliceConversation)}`);
    const text = `Sent without script ${Date.now()}`;
    await page.getByLabel('Message', { exact: true }).fill(text);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Send', exact: true }).click(),
    ]);
    assert.equal(response.status(), 303);
    await page.waitForURL((u) => u.pathname === view(aliceConversation));
    await agentEntry(page, text).waitFor();
    await listener.waitFor((e) => messageOf(e).conversationId === aliceConversation && messageOf(e).text === text,
      'the reply sent without script');
  } finally {
    await plain.close();
  }
});
