// Users as an admin manages them in the console: New User (Standard User), Set Password, that
// user logging in with it in another browser and being refused what their profile does not allow
// (with the admin API's message for the same request), and Login As with its banner and the way
// back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browser, sharedOrg, login, watch, adminApi, assertAccessible } from './lib/harness.js';

let org;
let chromium;
let page;
let problems;
const username = `kim.${Date.now().toString(36)}@acme.example`;
const password = 'Correct-Horse-42-battery';
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

test('New User (Standard User) and Set Password', async (t) => {
  await page.goto(`${org.login_url}/lightning/setup/ManageUsers/home`);
  await page.getByRole('button', { name: 'New User' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(username);
  await page.getByLabel('Profile').selectOption({ label: 'Standard User' });
  await assertAccessible(t, page);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: new RegExp(username.replace(/\./g, '\\.')) }).waitFor();
  await page.getByRole('button', { name: 'Set Password', exact: true }).click();
  await page.getByLabel('New Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm New Password', { exact: true }).fill(password);
  await assertAccessible(t, page);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('heading', { level: 1, name: new RegExp(username.replace(/\./g, '\\.')) }).waitFor();
});

test('the new user logs in with that password; a page their profile does not allow shows the API\'s refusal', async (t) => {
  const { newPage, close } = await browser();
  try {
    const p = await newPage();
    const seen = watch(p, { allowStatus: true });
    await p.goto(`${org.login_url}/`);
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill(password);
    await Promise.all([p.waitForURL((u) => u.pathname !== '/'), p.getByRole('button', { name: 'Log In' }).click()]);
    assert.match(await p.locator('header').innerText(), new RegExp(username.replace(/\./g, '\\.')));

    // The admin API acting as the same user (`X-Byoc-As`, `byoc --as`) for the same read.
    const api = await fetch(`${org.login_url}/admin/v1/external-client-apps`, {
      headers: { Authorization: `Bearer ${org.admin_token}`, 'X-Byoc-As': username },
    });
    const apiBody = await api.json();
    const response = await p.goto(`${org.login_url}/lightning/setup/ManageExternalClientApplication/home`);
    if (api.status >= 400) {
      assert.equal(response.status(), api.status);
      assert.match(await p.getByRole('main').innerText(), new RegExp(apiBody[0].message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      await assertAccessible(t, p);
    } else {
      t.diagnostic(`a Standard User may read the app list (the API says ${api.status}); the console agrees: ${response.status()}`);
      assert.equal(response.status(), 200);
    }
    assert.deepEqual(seen, []);
  } finally {
    await close();
  }
});

test('Login As: the banner says who, and Log out as goes back to the admin', async (t) => {
  await page.goto(`${org.login_url}/lightning/setup/ManageUsers/home`);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.endsWith('/ManageUsers/home')),
    page.getByRole('button', { name: `Login as ${username}` }).click(),
  ]);
  const banner = page.getByRole('status').filter({ hasText: 'Logged in as' });
  await banner.waitFor();
  assert.match(await banner.innerText(), new RegExp(username.replace(/\./g, '\\.')));
  assert.match(await banner.innerText(), new RegExp(org.admin_username.replace(/\./g, '\\.')));
  await assertAccessible(t, page);
  await page.getByRole('button', { name: `Log out as ${username}` }).click();
  await page.getByRole('heading', { level: 1 }).waitFor();
  assert.equal(await page.getByRole('status').filter({ hasText: 'Logged in as' }).count(), 0, 'the banner is gone');
  assert.match(await page.locator('header').innerText(), new RegExp(org.admin_username.replace(/\./g, '\\.')));
  // And the audit trail recorded it.
  const audit = await adminApi(org, 'GET', '/admin/v1/audit');
  if (audit.status === 200) {
    assert.match(JSON.stringify(audit.body), new RegExp(`Login-As access for ${username.replace(/\./g, '\\.')}`));
  } else {
    t.diagnostic(`audit trail read answered ${audit.status}; not checked`);
  }
});

test('no script errors or CSP violations on the Users pages', () => {
  assert.deepEqual(problems, []);
});
