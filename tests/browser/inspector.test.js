// The Request Inspector in the browser: with the page open, a failed token request (an unknown
// consumer key; a key that does not match the app's certificate) and a refused Interaction API
// call appear live, without a reload, with the error code Salesforce's answer carried and byoc's
// diagnosis (the same words as the X-Byoc-Diagnosis header); the Fix link opens the page that
// fixes it; the assertion and tokens are never shown; axe-core; the screenshot for the docs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { browser, sharedOrg, login, watch, screenshot, assertAccessible, partnerEnv, unique } from './lib/harness.js';
import { assertion } from './lib/partner.js';
import { partner, noReload } from './lib/agent.js';

const INSPECTOR = '/lightning/setup/RequestInspector/home';

let org;
let env;
let chromium;
before(async () => {
  org = await sharedOrg();
  env = partnerEnv(org);
  chromium = await browser();
});
after(async () => {
  await chromium?.close();
});

/// The token endpoint as a connector calls it, keeping what the inspector must match: status,
/// body and the X-Byoc-Diagnosis header.
async function tokenRequest(jwt) {
  const response = await fetch(`${org.login_url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }),
  });
  return { status: response.status, body: await response.json(), diagnosis: response.headers.get('x-byoc-diagnosis') };
}

/// The header carries the diagnosis with every character outside printable ASCII as `?`.
function sameDiagnosis(shown, header) {
  const a = shown.replace(/\s+/g, ' ').trim();
  const b = header.replace(/\s+/g, ' ').trim();
  return a.length === b.length && [...b].every((c, i) => c === a[i] || c === '?');
}

/// The diagnosis cell's own text (without its Fix link).
function diagnosisOf(row) {
  return row.locator('.diagnosis').evaluate((td) => [...td.childNodes]
    .filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('').replace(/\s+/g, ' ').trim());
}

async function openInspector() {
  const page = await chromium.newPage();
  const problems = watch(page);
  await login(page, org);
  await page.goto(`${org.login_url}${INSPECTOR}`);
  await page.getByRole('heading', { level: 1, name: 'Request Inspector' }).waitFor();
  await page.locator('#inspector-calls').waitFor();
  return { page, problems };
}

const rows = (page) => page.locator('#inspector-calls tr[data-call-id]');
async function callIds(page) {
  return rows(page).evaluateAll((trs) => trs.map((tr) => tr.dataset.callId));
}

/// The first row that was not on the page before (ids in `seen`) and is of `host`.
function newRow(page, seen, host) {
  const not = seen.map((id) => `:not([data-call-id="${id}"])`).join('');
  return page.locator(`#inspector-calls tr[data-call-id][data-host="${host}"]${not}`).first();
}

test('a token request with an unknown consumer key: live in the inspector with its code, diagnosis and fix', async (t) => {
  const { page, problems } = await openInspector();
  const guard = await noReload(page);
  const seen = await callIds(page);

  const jwt = assertion({
    consumerKey: `3MVG9${randomUUID().replace(/-/g, '')}`,
    username: env.SF_SUBJECT,
    audience: env.SF_AUDIENCE,
    privateKeyPem: env.SF_PRIVATE_KEY,
  });
  const refused = await tokenRequest(jwt);
  assert.equal(refused.status, 400);
  assert.ok(refused.diagnosis, 'the token endpoint names its diagnosis');

  const row = newRow(page, seen, 'token');
  await row.waitFor();
  const text = await row.innerText();
  t.diagnostic(`inspector row: ${text.replace(/\s+/g, ' ')}`);
  assert.match(text, new RegExp(`\\b${refused.body.error}\\b`), `the row shows Salesforce's error code ${refused.body.error}`);
  assert.match(text, /\b400\b/, 'the row shows the status');
  assert.match(text, /oauth2\/token/, 'the row names the operation');
  const diagnosis = await diagnosisOf(row);
  assert.ok(sameDiagnosis(diagnosis, refused.diagnosis), `the diagnosis "${diagnosis}" is the header's "${refused.diagnosis}"`);
  await guard.assertNoReload('the new call');

  // Nothing of the assertion is shown (the list nor the detail): it is a credential.
  const signature = jwt.split('.')[2];
  assert.ok(!(await page.content()).includes(signature), 'the assertion is masked in the list');
  const detailLink = row.locator('a[href*="/RequestInspector/"]');
  if (await detailLink.count()) {
    const detail = await chromium.newPage();
    await detail.goto(new URL(await detailLink.first().getAttribute('href'), page.url()).href);
    const html = await detail.content();
    assert.ok(!html.includes(signature), 'the assertion is masked in the detail view');
    assert.ok(html.includes(refused.body.error), 'the detail view has the response');
    await assertAccessible(t, detail);
    await detail.close();
  } else {
    const details = row.locator('details');
    assert.ok(await details.count(), 'a detail view (a link or <details>) for the call');
  }

  await assertAccessible(t, page);
  await screenshot(page, 'inspector');

  // The fix: iss is not a consumer key of this org → the External Client App Manager.
  const fix = row.locator('a.fix');
  assert.equal(await fix.count(), 1, 'a Fix link');
  await Promise.all([page.waitForURL((u) => u.pathname !== INSPECTOR), fix.click()]);
  assert.equal(new URL(page.url()).pathname, '/lightning/setup/ManageExternalClientApplication/home');
  await page.getByRole('heading', { level: 1, name: 'External Client App Manager' }).waitFor();
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('a token signed with the wrong key: the diagnosis names the certificate, Fix opens the app', async (t) => {
  const { page, problems } = await openInspector();
  const guard = await noReload(page);
  const seen = await callIds(page);

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwt = assertion({
    consumerKey: env.SF_CONSUMER_KEY,
    username: env.SF_SUBJECT,
    audience: env.SF_AUDIENCE,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  });
  const refused = await tokenRequest(jwt);
  assert.equal(refused.status, 400);
  const row = newRow(page, seen, 'token');
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, new RegExp(`\\b${refused.body.error}\\b`));
  const diagnosis = await diagnosisOf(row);
  assert.ok(sameDiagnosis(diagnosis, refused.diagnosis), `the diagnosis "${diagnosis}" is the header's "${refused.diagnosis}"`);
  assert.match(diagnosis, /certificate/);
  await guard.assertNoReload('the new call');

  const fix = row.locator('a.fix');
  const href = await fix.getAttribute('href');
  assert.match(href, /^\/lightning\/setup\/ManageExternalClientApplication\/[^/]+\/view$/, `Fix opens the app's page: ${href}`);
  await Promise.all([page.waitForURL((u) => u.pathname !== INSPECTOR), fix.click()]);
  const heading = (await page.getByRole('heading', { level: 1 }).innerText()).trim();
  t.diagnostic(`Fix opened ${page.url()} (${heading})`);
  assert.ok(diagnosis.includes(heading), `the page fixed is the app the diagnosis names (${heading})`);
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});

test('a refused Interaction API call shows up too, with its error code, the token masked', async (t) => {
  const { page, problems } = await openInspector();
  const guard = await noReload(page);
  const seen = await callIds(page);
  const sample = await partner(org);

  // A CCD that does not exist as the AuthorizationContext.
  const form = new FormData();
  form.append('json', new Blob([JSON.stringify({
    to: env.CHANNEL_ADDRESS_IDENTIFIER,
    from: unique('inspected').replace(' ', '-'),
    interactions: [{ timestamp: Date.now(), interactionType: 'EntryInteraction', payload: {
      id: randomUUID(), entryType: 'Message',
      abstractMessage: { messageType: 'StaticContentMessage', id: randomUUID(), staticContent: { formatType: 'Text', text: 'hi' } },
    } }],
  })], { type: 'application/json' }));
  const response = await fetch(`${env.SF_SCRT_INSTANCE_URL}/api/v1/interactions`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${sample.accessToken}`,
      OrgId: env.SF_ORG_ID,
      AuthorizationContext: 'No_Such_CCD',
      RequestId: randomUUID(),
    },
    body: form,
  });
  assert.ok(response.status >= 400, `refused (${response.status})`);
  const body = await response.text();
  t.diagnostic(`Interaction API: ${response.status} ${body}`);

  const row = newRow(page, seen, 'interaction');
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, new RegExp(`\\b${response.status}\\b`));
  let code = null;
  try { const j = JSON.parse(body); code = j.code || j.errorCode || (Array.isArray(j) && j[0]?.errorCode) || null; } catch { /* not JSON */ }
  if (code) assert.ok(text.includes(code), `the row shows the error code ${code}`);
  assert.ok(!(await page.content()).includes(sample.accessToken), 'the access token is masked');
  await guard.assertNoReload('the new call');
  assert.deepEqual(problems, [], 'no console errors or CSP violations');
  await page.close();
});
