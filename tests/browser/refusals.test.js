// Each refusal shows its message: a refused console form answers with the refusal's status,
// shows exactly the message the admin API (and so the CLI) gives for the same request in an
// alert, and keeps what the user typed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browser, sharedOrg, login, watch, adminApi, partnerEnv, unique, screenshot, assertAccessible } from './lib/harness.js';

const ECA_NEW = '/lightning/setup/ManageExternalClientApplication/new';
const CHANNEL_NEW_FROM = '/lightning/setup/LiveMessageSetup/home';

let org;
let chromium;
let page;
let problems;
before(async () => {
  org = await sharedOrg();
  chromium = await browser();
  page = await chromium.newPage();
  problems = watch(page, { allowStatus: true });
  await login(page, org);
});
after(async () => {
  await chromium?.close();
});

/// Submits the form by clicking `button` and returns the response status of the POST.
async function submit(name) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name, exact: true }).click(),
  ]);
  await page.waitForLoadState('load');
  return response.status();
}

async function alertText() {
  return (await page.getByRole('alert').innerText()).trim();
}

async function apiMessage(method, path, body) {
  const answer = await adminApi(org, method, path, body);
  assert.ok(answer.status >= 400, `the admin API accepted ${path}: ${JSON.stringify(answer.body)}`);
  return { status: answer.status, message: answer.body[0].message };
}

test('New External Client App with a name that is taken: the API\'s message, the typed values kept', async (t) => {
  const taken = (await adminApi(org, 'GET', '/admin/v1/external-client-apps')).body[0].name;
  const api = await apiMessage('POST', '/admin/v1/external-client-apps', {
    name: taken, contactEmail: 'dev@acme.example', callbackUrls: ['https://acme.example/callback'],
    scopes: ['interaction_api'],
  });
  await page.goto(`${org.login_url}${ECA_NEW}`);
  await page.getByLabel('External Client App Name').fill(taken);
  await page.getByLabel('Contact Email').fill('dev@acme.example');
  await page.getByLabel('Enable OAuth').check();
  await page.getByLabel('Callback URL').fill('https://acme.example/callback');
  await page.getByRole('listbox', { name: 'Available OAuth Scopes' })
    .selectOption({ label: 'Access Interaction API resources (interaction_api)' });
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  const status = await submit('Create');
  assert.equal(status, api.status);
  assert.equal(await alertText(), api.message);
  await assertAccessible(t, page);
  await screenshot(page, 'refusal');
  assert.equal(await page.getByLabel('External Client App Name').inputValue(), taken);
  assert.equal(await page.getByLabel('Contact Email').inputValue(), 'dev@acme.example');
  assert.equal(await page.getByLabel('Callback URL').inputValue(), 'https://acme.example/callback');
  assert.deepEqual(await page.getByRole('listbox', { name: 'Selected OAuth Scopes' }).locator('option').allTextContents(),
    ['Access Interaction API resources (interaction_api)']);
});

test('Enable JWT Bearer Flow without a certificate: the API\'s message', async (t) => {
  const name = unique('No Cert App');
  const api = await apiMessage('POST', '/admin/v1/external-client-apps', {
    name, contactEmail: 'dev@acme.example', callbackUrls: ['https://acme.example/callback'],
    scopes: ['interaction_api'], jwtBearerEnabled: true,
  });
  await page.goto(`${org.login_url}${ECA_NEW}`);
  await page.getByLabel('External Client App Name').fill(name);
  await page.getByLabel('Contact Email').fill('dev@acme.example');
  await page.getByLabel('Enable OAuth').check();
  await page.getByLabel('Callback URL').fill('https://acme.example/callback');
  await page.getByRole('listbox', { name: 'Available OAuth Scopes' })
    .selectOption({ label: 'Access Interaction API resources (interaction_api)' });
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.getByLabel('Enable JWT Bearer Flow').check();
  const status = await submit('Create');
  assert.equal(status, api.status);
  assert.equal(await alertText(), api.message);
  await assertAccessible(t, page);
  assert.equal(await page.getByLabel('Enable JWT Bearer Flow').isChecked(), true);
});

test('New Channel with a channel address that is taken: the API\'s message, the typed values kept', async (t) => {
  const address = partnerEnv(org).CHANNEL_ADDRESS_IDENTIFIER;
  const name = unique('Second Channel');
  const api = await apiMessage('POST', '/admin/v1/channels', {
    name, channelType: 'byoc-messaging', channelAddressIdentifier: address, appManagedBy: 'Customer',
  });
  await page.goto(`${org.login_url}${CHANNEL_NEW_FROM}`);
  await page.getByRole('button', { name: 'New Channel' }).click();
  await page.getByLabel('Channel Name').fill(name);
  await page.getByLabel('Channel Type').selectOption({ label: 'Bring Your Own Channel (Messaging)' });
  await page.getByLabel('Channel Address Identifier').fill(address);
  const status = await submit('Save');
  assert.equal(status, api.status);
  assert.equal(await alertText(), api.message);
  await assertAccessible(t, page);
  assert.equal(await page.getByLabel('Channel Name').inputValue(), name);
  assert.equal(await page.getByLabel('Channel Address Identifier').inputValue(), address);
});

test('Certificate Helper with days that are not a number: its message, the typed values kept', async (t) => {
  await page.goto(`${org.login_url}/lightning/setup/ByocCertificate/home`);
  await page.getByLabel('Common Name (CN)').fill('acme');
  await page.getByLabel('Valid for (days)').fill('soon');
  const status = await submit('Create Key Pair and Certificate');
  assert.equal(status, 400);
  assert.ok((await alertText()).length > 0);
  assert.equal(await page.getByLabel('Valid for (days)').inputValue(), 'soon');
});

test('a wrong password: Salesforce\'s login message', async (t) => {
  const { newPage, close } = await browser();
  try {
    const p = await newPage();
    await p.goto(`${org.login_url}/`);
    await p.getByLabel('Username').fill(org.admin_username);
    await p.getByLabel('Password').fill('not-the-password');
    await p.getByRole('button', { name: 'Log In' }).click();
    await p.getByRole('alert').waitFor();
    assert.equal((await p.getByRole('alert').innerText()).trim(),
      "Please check your username and password. If you still can't log in, contact your Salesforce administrator.");
    assert.equal(await p.getByLabel('Username').inputValue(), org.admin_username);
    await assertAccessible(t, p);
  } finally {
    await close();
  }
});

test('the confirmation pages (Permitted Users warning, Delete): accessible, Cancel changes nothing', async (t) => {
  const name = unique('Confirm App');
  const created = await adminApi(org, 'POST', '/admin/v1/external-client-apps', {
    name, contactEmail: 'dev@acme.example', callbackUrls: ['https://acme.example/callback'], scopes: ['interaction_api'],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const base = `${org.login_url}/lightning/setup/ManageExternalClientApplication/${created.body.record.apiName}`;
  await page.goto(`${base}/policies/edit`);
  await page.getByLabel('Permitted Users').selectOption({ label: 'Admin approved users are pre-authorized' });
  // The page a browser without script gets: form.submit() skips the submit handler that would
  // ask with confirm() instead.
  await Promise.all([page.waitForNavigation(), page.locator('form[data-ack-confirm]').evaluate((f) => f.submit())]);
  const dialog = page.getByRole('alertdialog');
  await dialog.waitFor();
  await assertAccessible(t, page);
  await dialog.getByRole('link', { name: 'Cancel' }).click();
  const after = await adminApi(org, 'GET', `/admin/v1/external-client-apps/${encodeURIComponent(name)}`);
  assert.equal(after.status, 200, JSON.stringify(after.body));
  assert.notEqual(after.body.policies.permittedUsers, 'AdminApprovedPreAuthorized',
    'Cancel on the warning keeps the old Permitted Users');

  await page.goto(`${base}/view`);
  await page.getByRole('main').getByRole('link', { name: 'Delete', exact: true }).click();
  await page.getByRole('alertdialog').waitFor();
  await assertAccessible(t, page);
});

test('no script errors or CSP violations on the refused pages', () => {
  assert.deepEqual(problems, []);
});
