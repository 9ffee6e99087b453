// Session and CSRF rules as a browser lives them: a form on another origin that auto-submits to
// the console is refused (even holding the session's real CSRF token), a same-origin write
// without the token is refused, and Log Out ends the session on the server (Back, Reload and the
// old cookie all land on the login page).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { browser, sharedOrg, login, adminApi } from './lib/harness.js';

const REFUSAL = 'This page has expired or did not come from this org.';
const HOME = '/lightning/setup/SetupOneHome/home';

let org;
let chromium;
let attacker;
let attackerPort;
/// What the attacker's page posts: set per test.
let attack = { action: '', fields: {} };

before(async () => {
  org = await sharedOrg();
  chromium = await browser();
  // Another origin (same host, another port; and `localhost`, another site) serving a page that
  // submits a form to the console as soon as it loads.
  attacker = createServer((req, res) => {
    const inputs = Object.entries(attack.fields)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${String(v).replace(/"/g, '&quot;')}">`)
      .join('');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><title>Win a prize</title>
<form id="f" method="post" action="${attack.action}">${inputs}</form>
<script>document.getElementById('f').submit();</script></html>`);
  });
  await new Promise((r) => attacker.listen(0, '127.0.0.1', r));
  attackerPort = attacker.address().port;
});
after(async () => {
  await chromium?.close();
  attacker?.close();
});

async function csrfToken(page) {
  return page.locator('input[name="_csrf"]').first().inputValue();
}

async function stillLoggedIn(page) {
  const response = await page.goto(`${org.login_url}${HOME}`);
  return response.status() === 200 && new URL(page.url()).pathname === HOME;
}

for (const [what, host] of [['another origin of the same site', '127.0.0.1'], ['another site', 'localhost']]) {
  test(`a form on ${what} posting to the console is refused, even with the real CSRF token`, async () => {
    const page = await chromium.newPage();
    await login(page, org);
    await page.goto(`${org.login_url}${HOME}`);
    // The worst case: the attacker somehow holds the session's token. Origin and
    // Sec-Fetch-Site still give the request away.
    attack = { action: `${org.login_url}/secur/logout.jsp`, fields: { _csrf: await csrfToken(page) } };
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().startsWith(`${org.login_url}/secur/logout.jsp`)),
      page.goto(`http://${host}:${attackerPort}/prize`),
    ]);
    await page.waitForLoadState('load');
    if (host === '127.0.0.1') {
      // Same site: the SameSite=Lax cookie goes along, so only the cross-site guard stops it.
      assert.equal(response.status(), 403);
      assert.match(await page.locator('body').innerText(), new RegExp(REFUSAL.replace(/\./g, '\\.')));
    } else {
      // Another site: the browser does not send the Lax cookie on a cross-site POST at all, and
      // the server refuses it too.
      assert.ok([403, 303].includes(response.status()), `cross-site POST answered ${response.status()}`);
    }
    assert.ok(await stillLoggedIn(page), 'the refused logout must not have ended the session');
    await page.close();
  });
}

test('a form on another origin creating a messaging channel is refused, and nothing is created', async () => {
  const page = await chromium.newPage();
  await login(page, org);
  await page.goto(`${org.login_url}${HOME}`);
  const name = `Attacker Channel ${Date.now()}`;
  attack = {
    action: `${org.login_url}/lightning/setup/LiveMessageSetup/new`,
    fields: {
      _csrf: await csrfToken(page),
      name,
      channelType: 'byoc-messaging',
      channelAddressIdentifier: `attacker-${Date.now()}`,
      appManagedBy: 'customer',
    },
  };
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${org.login_url}/lightning/setup/LiveMessageSetup/new`)),
    page.goto(`http://127.0.0.1:${attackerPort}/prize`),
  ]);
  assert.equal(response.status(), 403);
  const channels = await adminApi(org, 'GET', '/admin/v1/channels');
  assert.equal(channels.status, 200);
  assert.ok(!JSON.stringify(channels.body).includes(name), 'the refused form created no channel');
  await page.close();
});

test('a same-origin write without the CSRF token is refused', async () => {
  const page = await chromium.newPage();
  await login(page, org);
  await page.goto(`${org.login_url}${HOME}`);
  const status = await page.evaluate(async () => {
    const r = await fetch('/secur/logout.jsp', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '_csrf=not-the-token',
    });
    return r.status;
  });
  assert.equal(status, 403);
  assert.ok(await stillLoggedIn(page));
  await page.close();
});

test('Log Out ends the session: Back, Reload and the old cookie all go to the login page', async () => {
  const { context, newPage, close } = await browser();
  try {
    const page = await newPage();
    await login(page, org);
    await page.goto(`${org.login_url}${HOME}`);
    const [sid] = (await context.cookies(org.login_url)).filter((c) => c.name === 'sid');
    assert.ok(sid, 'a session cookie');
    assert.equal(sid.httpOnly, true, 'the session cookie is HttpOnly');
    assert.ok(['Lax', 'Strict'].includes(sid.sameSite), `SameSite=${sid.sameSite}`);

    await page.getByRole('button', { name: 'Log Out' }).click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.getByLabel('Username').waitFor();

    await page.goBack();
    await page.reload();
    assert.equal(new URL(page.url()).pathname, '/', `after Back + Reload: ${page.url()}`);
    await page.getByLabel('Username').waitFor();

    // The old cookie, put back by hand, no longer opens the console: the server forgot it.
    await context.addCookies([sid]);
    await page.goto(`${org.login_url}${HOME}`);
    assert.equal(new URL(page.url()).pathname, '/', 'the ended session must not log in again');
    await page.getByLabel('Username').waitFor();
  } finally {
    await close();
  }
});
