// With JavaScript disabled every form still works (plain POST + 303): log in, create an External
// Client App with the plain scope list, switch its Permitted Users (the server's own OK/Cancel
// page stands in for the browser's confirm dialog), create a BYOC channel and link its CCD.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { browser, sharedOrg, login, unique } from './lib/harness.js';

let org;
let chromium;
before(async () => {
  org = await sharedOrg();
  chromium = await browser({ javaScriptEnabled: false });
});
after(async () => {
  await chromium?.close();
});

function detail(scope, term) {
  return scope.locator('dt').filter({ hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');
}

test('without JavaScript: log in, New External Client App, Permitted Users with the confirmation page, New Channel, its CCD', async () => {
  const page = await chromium.newPage();
  const appName = unique('No Script App');
  const channelName = unique('No Script Channel');
  const main = page.getByRole('main');

  await login(page, org);
  // Quick Find without script: its form lists the matches on the Setup home page.
  await page.getByRole('searchbox', { name: 'Quick Find' }).fill('External Client App Manager');
  await page.getByRole('searchbox', { name: 'Quick Find' }).press('Enter');
  await main.getByRole('link', { name: 'External Client App Manager' }).click();
  await page.getByRole('heading', { level: 1, name: 'External Client App Manager' }).waitFor();

  await page.getByRole('link', { name: 'New External Client App' }).click();
  await page.getByLabel('External Client App Name').fill(appName);
  await page.getByLabel('Contact Email').fill('dev@acme.example');
  await page.getByLabel('Enable OAuth').check();
  await page.getByLabel('Callback URL').fill('https://acme.example/callback');
  // Without script the picker is the one multi-select list it falls back to (console.js, had it
  // run, would have replaced it with Available/Selected lists).
  assert.equal(await page.getByRole('listbox', { name: 'Available OAuth Scopes' }).count(), 0,
    'scripts really are off in this browser');
  await page.getByRole('listbox', { name: 'Selected OAuth Scopes' }).selectOption([
    { label: 'Access Interaction API resources (interaction_api)' },
    { label: 'Perform requests at any time (refresh_token, offline_access)' },
  ]);
  await page.getByLabel('Enable JWT Bearer Flow').check();
  await page.getByLabel('Upload a certificate for the JWT Bearer Flow').setInputFiles(join(org.dataDir, 'server.crt'));
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { level: 1, name: appName }).waitFor();
  assert.equal(await detail(main, 'Enable JWT Bearer Flow').innerText(), 'Yes');

  await page.getByRole('navigation', { name: appName }).getByRole('link', { name: 'Policies', exact: true }).click();
  await main.getByRole('link', { name: 'Edit', exact: true }).click();
  await page.getByLabel('Permitted Users').selectOption({ label: 'Admin approved users are pre-authorized' });
  await page.getByLabel('System Administrator').check();
  await page.getByRole('button', { name: 'Save' }).click();
  // The warning Setup shows, as a page of its own.
  const dialog = page.getByRole('alertdialog');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Admin approved users are pre-authorized/);
  // (No axe-core here: it needs script. refusals.test.js checks this page with script on.)
  await dialog.getByRole('button', { name: 'OK' }).click();
  await page.getByRole('heading', { level: 1, name: appName }).waitFor();
  assert.equal(await detail(main, 'Permitted Users').innerText(), 'Admin approved users are pre-authorized');
  assert.match(await detail(main, 'Selected Profiles').innerText(), /System Administrator/);

  await page.goto(`${org.login_url}/lightning/setup/LiveMessageSetup/home`);
  await page.getByRole('button', { name: 'New Channel' }).click();
  await page.getByLabel('Channel Name').fill(channelName);
  await page.getByLabel('Channel Type').selectOption({ label: 'Bring Your Own Channel (Messaging)' });
  await page.getByLabel('Channel Address Identifier').fill(`noscript-${Date.now().toString(36)}`);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: channelName }).waitFor();
  await page.getByRole('button', { name: 'Manage Conversation Channel Definition' }).click();
  await page.getByLabel('External Client App or Connected App').selectOption({ label: appName });
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: channelName }).waitFor();
  const ccd = page.getByRole('region', { name: 'Conversation Channel Definition' });
  assert.equal(await detail(ccd, 'Connected App').innerText(), `${appName} (External Client App)`);
});
