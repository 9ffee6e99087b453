// Every console page, as the admin sees it: no script error, no CSP violation, and axe-core finds
// no serious or critical accessibility violation (the others are printed).
//
// The pages are the login page, the Setup home page, every page of the Setup tree, and the
// detail pages of the sample setup's records that the list pages link to.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { browser, sharedOrg, login, watch, axe, describeViolations, setupTree, screenshot } from './lib/harness.js';

let org;
let chromium;
before(async () => {
  org = await sharedOrg();
  chromium = await browser();
});
after(async () => {
  await chromium?.close();
});

/// Setup pages whose screenshots docs/console.md shows (the main flow takes the others).
const SHOTS = {
  Users: 'users',
  Profiles: 'profiles',
  'Permission Sets': 'permission-sets',
  'Company Information': 'company-information',
  'View Setup Audit Trail': 'audit-trail',
};

/// Loads `url`, checks it, and returns the page (still open) for more checks.
async function check(t, page, problems, url, { status = 200 } = {}) {
  const response = await page.goto(url);
  assert.equal(response.status(), status, `${url} answered ${response.status()}`);
  await page.waitForLoadState('load');
  const { serious, others } = await axe(page);
  if (others.length) t.diagnostic(`axe (minor/moderate) on ${url}:\n${describeViolations(others)}`);
  assert.equal(serious.length, 0, `axe found serious/critical violations on ${url}:\n${describeViolations(serious)}`);
  assert.deepEqual(problems, [], `console errors or CSP violations on ${url}`);
}

test('the login page: accessible, no script errors', async (t) => {
  const page = await chromium.context.newPage();
  const problems = watch(page);
  await check(t, page, problems, `${org.login_url}/`);
  await assert.doesNotReject(page.getByLabel('Username').waitFor());
  await assert.doesNotReject(page.getByLabel('Password').waitFor());
  await screenshot(page, 'login');
  await page.close();
});

test('View Setup Audit Trail: the CSV download', async () => {
  const { newPage, close } = await browser({ acceptDownloads: true });
  try {
    const page = await newPage();
    await login(page, org);
    await page.goto(`${org.login_url}/lightning/setup/SecurityEvents/home`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: /Download setup audit trail/ }).click(),
    ]);
    const path = await download.path();
    const csv = (await import('node:fs')).readFileSync(path, 'utf8');
    assert.match(download.suggestedFilename(), /\.csv$/);
    assert.ok(csv.split('\n').length > 2, 'a header and rows');
  } finally {
    await close();
  }
});

test('every page of the Setup tree: accessible, no script errors, no CSP violations', async (t) => {
  const page = await chromium.newPage();
  const problems = watch(page);
  await login(page, org);
  await check(t, page, problems, `${org.login_url}/lightning/setup/SetupOneHome/home`);
  await screenshot(page, 'home');
  const tree = await setupTree(page);
  assert.ok(tree.length >= 10, `the Setup tree has ${tree.length} links`);
  const detailLinks = new Set();
  for (const { label, href } of tree) {
    await check(t, page, problems, `${org.login_url}${href}`);
    if (SHOTS[label]) await screenshot(page, SHOTS[label]);
    // The records a list page links to (an app's page, a channel's page, a user's page): the
    // first few of each list, once.
    const links = await page.getByRole('main').getByRole('link').evaluateAll(
      (as) => as.filter((a) => !a.hasAttribute('download')).map((a) => a.getAttribute('href'))
        .filter((h) => h && h.startsWith('/lightning/')),
    );
    for (const l of links.filter((l) => l !== href).slice(0, 3)) detailLinks.add(l);
  }
  // Then the pages those records link to (Edit, Policies, Delete's confirmation, ...), once.
  const visited = new Set(tree.map((i) => i.href));
  const queue = [...detailLinks].map((href) => ({ href, depth: 1 }));
  while (queue.length) {
    const { href, depth } = queue.shift();
    if (visited.has(href)) continue;
    visited.add(href);
    await check(t, page, problems, `${org.login_url}${href}`);
    if (depth >= 2) continue;
    const more = await page.getByRole('main').getByRole('link').evaluateAll(
      (as) => as.filter((a) => !a.hasAttribute('download')).map((a) => a.getAttribute('href'))
        .filter((h) => h && h.startsWith('/lightning/')),
    );
    for (const m of more) if (!visited.has(m)) queue.push({ href: m, depth: depth + 1 });
  }
  t.diagnostic(`visited ${visited.size} pages`);
  t.diagnostic(`checked ${tree.length} Setup pages and ${detailLinks.size} linked pages`);
});
