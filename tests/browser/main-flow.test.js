// The help page, followed in the console by its visible labels, ending in a token and an
// accepted interaction: log in; Certificate Helper (key pair + self-signed certificate); External
// Client App Manager > New External Client App with the certificate, the scopes and the JWT
// Bearer flow; Policies > Permitted Users "Admin approved users are pre-authorized" (OK on the
// warning) + System Administrator; Messaging Settings > New Channel (Bring Your Own Channel) >
// Manage Conversation Channel Definition > the app. Then, outside the browser, the partner signs
// a JWT with the private key (iss = the consumer key revealed on the app's page), takes a token
// and sends a message that the Interaction API accepts.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { browser, startOrg, login, watch, screenshot, assertAccessible } from './lib/harness.js';
import { assertion, token, sendText } from './lib/partner.js';

let org;
let chromium;
// An org of its own, as `byoc serve` gives a new user (the sample setup included), so the names
// below are free and the screenshots show what a new user sees.
before(async () => {
  org = await startOrg();
  chromium = await browser({ acceptDownloads: true });
});
after(async () => {
  await chromium?.close();
  await org?.stop();
});

/// The value shown beside the label `term` in a details list (`<dt>term</dt><dd>value</dd>`).
function detail(scope, term) {
  return scope.locator('dt').filter({ hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
}

/// Quick Find, as the help page says: "From Setup, in the Quick Find box, enter X, and then
/// select X".
async function quickFind(page, label) {
  await page.getByRole('searchbox', { name: 'Quick Find' }).fill(label);
  await page.getByRole('navigation', { name: 'Setup' }).getByRole('link', { name: label, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

test('the help page, screen by screen, ends in a token and an accepted interaction', async (t) => {
  const page = await chromium.newPage();
  const problems = watch(page);
  const appName = 'Acme Connector';
  const channelName = 'Acme Channel';
  const address = 'acme-address';

  // Log in.
  await login(page, org);
  await page.getByRole('heading', { level: 1 }).waitFor();

  // Step 1: a private key and a self-signed certificate (Certificate Helper).
  await quickFind(page, 'Certificate Helper');
  await page.getByLabel('Common Name (CN)').fill('acme-connector');
  // (The screenshot before Create: afterwards the page shows the new private key.)
  await screenshot(page, 'certificate-helper');
  await page.getByRole('button', { name: 'Create Key Pair and Certificate' }).click();
  await page.getByRole('status').filter({ hasText: 'Created an RSA 2048 key' }).waitFor();
  await assertAccessible(t, page);
  const dir = chromium.downloadsDir;
  const [certDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download Certificate (server.crt)' }).click(),
  ]);
  const [keyDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download Private Key (server.key)' }).click(),
  ]);
  assert.equal(certDownload.suggestedFilename(), 'server.crt');
  assert.equal(keyDownload.suggestedFilename(), 'server.key');
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  await certDownload.saveAs(certPath);
  await keyDownload.saveAs(keyPath);
  const privateKeyPem = readFileSync(keyPath, 'utf8');
  assert.match(readFileSync(certPath, 'utf8'), /BEGIN CERTIFICATE/);
  assert.match(privateKeyPem, /BEGIN (RSA )?PRIVATE KEY/);

  // External Client App Manager > New External Client App.
  await quickFind(page, 'External Client App Manager');
  await screenshot(page, 'external-client-app-manager');
  await page.getByRole('link', { name: 'New External Client App' }).click();
  await page.getByRole('heading', { level: 1, name: 'New External Client App' }).waitFor();
  await page.getByLabel('External Client App Name').fill(appName);
  assert.equal(await page.getByLabel('API Name').inputValue(), appName.replace(/[^A-Za-z0-9]+/g, '_'),
    'the API Name is filled in from the name');
  await page.getByLabel('Contact Email').fill('dev@acme.example');
  await page.getByLabel('Enable OAuth').check();
  await page.getByLabel('Callback URL').fill('https://acme.example/callback');
  const available = page.getByRole('listbox', { name: 'Available OAuth Scopes' });
  await available.selectOption([
    { label: 'Access Interaction API resources (interaction_api)' },
    { label: 'Perform requests at any time (refresh_token, offline_access)' },
  ]);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  assert.equal(await page.getByText('Selected OAuth Scopes', { exact: true }).filter({ visible: true }).count(), 1,
    'one visible "Selected OAuth Scopes" label: the no-script list\'s own label is hidden');
  const selected = await page.getByRole('listbox', { name: 'Selected OAuth Scopes' }).locator('option').allTextContents();
  assert.deepEqual(selected.sort(), [
    'Access Interaction API resources (interaction_api)',
    'Perform requests at any time (refresh_token, offline_access)',
  ]);
  await page.getByLabel('Enable JWT Bearer Flow').check();
  await page.getByLabel('Upload a certificate for the JWT Bearer Flow').setInputFiles(certPath);
  await screenshot(page, 'new-external-client-app');
  await assertAccessible(t, page);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { level: 1, name: appName }).waitFor();
  const main = page.getByRole('main');
  assert.equal(await detail(main, 'Enable JWT Bearer Flow').innerText(), 'Yes');
  assert.match(await detail(main, 'Certificate').innerText(), /acme-connector/);

  // Policies > Edit: Permitted Users, with Setup's warning (OK), and the profile.
  const tabs = page.getByRole('navigation', { name: appName });
  await tabs.getByRole('link', { name: 'Policies', exact: true }).click();
  await main.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.getByLabel('Permitted Users').selectOption({ label: 'Admin approved users are pre-authorized' });
  await page.getByLabel('System Administrator').check();
  await assertAccessible(t, page);
  let warning = null;
  page.once('dialog', async (dialog) => {
    warning = dialog.message();
    await dialog.accept();
  });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: appName }).waitFor();
  assert.ok(warning, 'switching to admin-approved shows a confirmation');
  t.diagnostic(`Permitted Users warning: ${warning}`);
  assert.equal(await detail(main, 'Permitted Users').innerText(), 'Admin approved users are pre-authorized');
  assert.match(await detail(main, 'Selected Profiles').innerText(), /System Administrator/);
  await screenshot(page, 'app-policies');

  // Settings > Consumer Key and Secret (the reveal step).
  await tabs.getByRole('link', { name: 'Settings', exact: true }).click();
  await page.getByRole('button', { name: 'Consumer Key and Secret' }).click();
  const consumerKey = (await detail(main, 'Consumer Key').innerText()).trim();
  await assertAccessible(t, page);
  assert.match(consumerKey, /^3MVG/, `consumer key ${consumerKey}`);

  // Messaging Settings > New Channel (Bring Your Own Channel).
  await quickFind(page, 'Messaging Settings');
  await screenshot(page, 'messaging-settings');
  await page.getByRole('button', { name: 'New Channel' }).click();
  await page.getByLabel('Channel Name').fill(channelName);
  await page.getByLabel('Channel Type').selectOption({ label: 'Bring Your Own Channel (Messaging)' });
  await page.getByLabel('Channel Address Identifier').fill(address);
  await assertAccessible(t, page);
  await page.getByLabel('Connected App Type').selectOption({ label: 'Customer: link your own External Client App or connected app' });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: channelName }).waitFor();

  // Manage Conversation Channel Definition > the app.
  const ccdSection = page.getByRole('region', { name: 'Conversation Channel Definition' });
  const ccdName = (await detail(ccdSection, 'Developer Name').innerText()).trim();
  await page.getByRole('button', { name: 'Manage Conversation Channel Definition' }).click();
  await assertAccessible(t, page);
  await page.getByLabel('External Client App or Connected App').selectOption({ label: appName });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: channelName }).waitFor();
  assert.match(await detail(ccdSection, 'Connected App').innerText(), new RegExp(appName));
  // The picture shows the CCD section with the linked app (below the fold otherwise).
  await ccdSection.evaluate((el) => el.scrollIntoView({ block: 'end' }));
  await screenshot(page, 'channel');

  // Setup Checklist: every step of the help page done for this channel, app and user.
  await quickFind(page, 'Setup Checklist');
  await page.getByLabel('Messaging Channel').selectOption({ value: channelName });
  await page.getByLabel('External Client App or Connected App').selectOption({ label: appName });
  await page.getByLabel('Integration User').selectOption({ value: org.admin_username });
  await page.getByRole('button', { name: 'Check' }).click();
  const summary = page.getByRole('status');
  await summary.waitFor();
  t.diagnostic(`Setup Checklist: ${await summary.innerText()}`);
  assert.doesNotMatch(await main.innerText(), /✗/, 'no step of the checklist fails');
  await screenshot(page, 'checklist');
  await assertAccessible(t, page);
  assert.deepEqual(problems, [], 'no console errors or CSP violations along the way');

  // Outside the browser: the partner's JWT, the token, and an inbound message.
  // First a mistake partners make (an audience the org does not accept), to see it diagnosed.
  const wrong = assertion({ consumerKey, username: org.admin_username, audience: 'https://acme.example', privateKeyPem });
  const refused = await token(org.login_url, wrong);
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error_description, 'audience is invalid');

  const jwt = assertion({ consumerKey, username: org.admin_username, audience: org.login_url, privateKeyPem });
  const granted = await token(org.login_url, jwt);
  assert.equal(granted.status, 200, `token endpoint: ${JSON.stringify(granted.body)}`);
  assert.ok(granted.body.access_token, 'an access token');
  assert.match(granted.body.scope, /interaction_api/);

  const sent = await sendText({
    scrtUrl: org.scrt_url,
    accessToken: granted.body.access_token,
    orgId: org.org_id,
    authorizationContext: ccdName,
    to: address,
    from: 'end-user-1',
    text: 'Hello from the console walk-through',
  });
  assert.equal(sent.status, 202, `Interaction API: ${JSON.stringify(sent.body)}`);
  t.diagnostic(`interaction accepted: ${JSON.stringify(sent.body)}`);

  // Login History: both token requests, the failure with byoc's diagnosis.
  await quickFind(page, 'Login History');
  const rows = page.getByRole('main').getByRole('row');
  const failed = rows.filter({ hasText: appName }).filter({ hasNotText: 'Success' });
  await failed.first().waitFor();
  t.diagnostic(`Login History failure row: ${(await failed.first().innerText()).replace(/\s+/g, ' ')}`);
  await assertAccessible(t, page);
  await screenshot(page, 'login-history');
  assert.deepEqual(problems, [], 'no console errors or CSP violations on Login History');
});
