// What every browser test shares: Debian's Chromium through playwright-core, a byoc org to point
// it at (the one scripts/browser-test started, or a fresh one of the test's own), logging in,
// watching the page for script errors and CSP violations, axe-core, and screenshots for the docs.
//
// Nothing here downloads a browser: playwright-core ships none, and `executablePath` points at the
// system's Chromium (BYOC_CHROMIUM, default /usr/bin/chromium).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
/// The repository's root (tests/browser/lib/../../..).
export const REPO = join(here, '..', '..', '..');

export const CHROMIUM = process.env.BYOC_CHROMIUM || '/usr/bin/chromium';
/// Chromium's flags: headless, no sandbox (CI runs as root), and nothing that reaches the network
/// on its own (updates, sync, QUIC probes), so a run only talks to byoc.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/// The size screenshots are taken at (and every page is tested at).
export const VIEWPORT = { width: 1280, height: 800 };

/// Chromium with a fresh profile: `launchPersistentContext` on a new temporary user-data dir,
/// removed again by `close()`. Returns `{ context, close }`; `options` are context options
/// (e.g. `{ javaScriptEnabled: false }`).
export async function browser(options = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'byoc-chromium-'));
  // Where a test saves what it downloads (the Certificate Helper's key pair).
  const downloadsDir = mkdtempSync(join(tmpdir(), 'byoc-downloads-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: VIEWPORT,
    locale: 'en-US',
    timezoneId: 'UTC',
    ...options,
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  return {
    context,
    downloadsDir,
    async newPage() {
      const pages = context.pages();
      // The persistent context opens with one blank tab: use it first.
      if (pages.length === 1 && pages[0].url() === 'about:blank' && !pages[0].__byocUsed) {
        pages[0].__byocUsed = true;
        return pages[0];
      }
      return context.newPage();
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
      rmSync(downloadsDir, { recursive: true, force: true });
    },
  };
}

// ---- the org -------------------------------------------------------------------------------------

function readOrg(dataDir) {
  const org = JSON.parse(readFileSync(join(dataDir, 'org.json'), 'utf8'));
  return { ...org, dataDir };
}

/// The org scripts/browser-test started (BYOC_DATA_DIR), or a fresh one when the tests are run
/// by hand without it (then stopped when the test process exits).
let shared;
export async function sharedOrg() {
  if (shared) return shared;
  if (process.env.BYOC_DATA_DIR && existsSync(join(process.env.BYOC_DATA_DIR, 'org.json'))) {
    shared = { ...readOrg(process.env.BYOC_DATA_DIR), stop: async () => {} };
  } else {
    shared = await startOrg();
    // Don't let the server keep the test process alive; take it down when the process ends.
    shared.unref();
    process.on('exit', () => shared.kill());
  }
  return shared;
}

/// The `byoc` binary the tests run (scripts/browser-test builds it and sets BYOC_BIN).
export function byocBin() {
  if (process.env.BYOC_BIN) return process.env.BYOC_BIN;
  const target = process.env.CARGO_TARGET_DIR || join(REPO, 'target');
  return join(target, 'debug', 'byoc');
}

/// A new org of this test's own: `byoc serve` on free ports in a new data dir. `empty: true`
/// skips the sample setup. Returns org.json's members plus `dataDir`, `stop()` and `kill()`.
export async function startOrg({ empty = false } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'byoc-browser-org-'));
  const args = ['--data-dir', dataDir, 'serve', '--listen', '127.0.0.1:0', '--scrt-listen', '127.0.0.1:0',
    '--pubsub-listen', '127.0.0.1:0', '--https-listen', '127.0.0.1:0', '--scrt-https-listen', '127.0.0.1:0'];
  if (empty) args.push('--empty');
  const child = spawn(byocBin(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`byoc serve did not get ready in 60 s:\n${output}`)), 60_000);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`byoc serve exited ${code}:\n${output}`)); });
    const poll = setInterval(() => {
      if (output.includes('byoc is ready')) { clearInterval(poll); clearTimeout(timer); resolve(); }
    }, 50);
  });
  child.removeAllListeners('exit');
  const org = readOrg(dataDir);
  return {
    ...org,
    unref() { child.unref(); child.stdout.unref?.(); child.stderr.unref?.(); child.stdout.destroy(); child.stderr.destroy(); },
    kill() { try { child.kill('SIGKILL'); } catch { /* already gone */ } },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/// The admin's console password, when org.json carries one (the password login); otherwise the
/// tests log in through frontdoor.jsp with the admin credential.
export function adminPassword(org) {
  return org.admin_password || org.adminPassword || null;
}

/// Log `page` in as the bootstrap admin: the login page with the password from org.json when the
/// org has one, else `/secur/frontdoor.jsp?sid=<admin credential>`. Ends on the Setup home page.
export async function login(page, org) {
  const password = adminPassword(org);
  if (password) {
    await page.goto(`${org.login_url}/`);
    await page.getByLabel('Username').fill(org.admin_username);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForURL((u) => u.pathname !== '/'), page.getByRole('button', { name: 'Log In' }).click()]);
  } else {
    await page.goto(`${org.login_url}/secur/frontdoor.jsp?sid=${encodeURIComponent(org.admin_token)}`);
  }
}

// ---- what a page must not do ---------------------------------------------------------------------

/// Collects every console error, CSP violation and uncaught exception of `page`. `allowStatus`
/// accepts the "Failed to load resource: ... status of N" line Chromium logs for a document
/// served with an error status on purpose (a refused form re-renders with 400/409).
export function watch(page, { allowStatus = false } = {}) {
  const problems = [];
  page.on('console', (m) => {
    const text = m.text();
    const csp = /Content Security Policy/i.test(text);
    if (m.type() !== 'error' && !csp) return;
    // Chromium asks every origin for /favicon.ico on its own; the console serves none.
    if (/favicon\.ico$/.test(m.location().url)) return;
    if (allowStatus && !csp && /^Failed to load resource: the server responded with a status of (4\d\d)/.test(text)
      && m.location().url === page.url()) return;
    problems.push(`${m.type()} on ${page.url()}: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
  return problems;
}

// ---- accessibility -------------------------------------------------------------------------------

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = JSON.parse(readFileSync(require.resolve('axe-core/package.json'), 'utf8')).version;

/// axe-core on the page as it is now. The script is evaluated through the DevTools protocol,
/// which the page's strict CSP does not govern, so the page runs with its real CSP. Returns
/// `{ serious, others }`: violations of impact serious/critical, and the rest.
export async function axe(page) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  return {
    serious: result.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
    others: result.filter((v) => !(v.impact === 'serious' || v.impact === 'critical')),
  };
}

export function describeViolations(list) {
  return list.map((v) => `  [${v.impact}] ${v.id}: ${v.help} at ${v.nodes.join(', ')}`).join('\n');
}

// ---- docs ----------------------------------------------------------------------------------------

/// With BYOC_SCREENSHOTS=1: the viewport (1280x800) as docs/img/console-<name>.png.
export async function screenshot(page, name) {
  if (process.env.BYOC_SCREENSHOTS !== '1') return;
  const dir = join(REPO, 'docs', 'img');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `console-${name}.png`), animations: 'disabled', caret: 'hide' });
}

// ---- small helpers -------------------------------------------------------------------------------

/// A name no other test run uses.
export function unique(prefix) {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/// The visible text of the page's main region.
export async function mainText(page) {
  return page.getByRole('main').innerText();
}

/// Every link of the Setup tree: `{ label, href }`.
export async function setupTree(page) {
  return page.getByRole('navigation', { name: 'Setup' }).getByRole('link').evaluateAll(
    (links) => links.map((a) => ({ label: a.textContent.trim(), href: a.getAttribute('href') })),
  );
}

/// The admin API as the bootstrap admin (what `byoc setup ...` calls): `{ status, body }`.
export async function adminApi(org, method, path, body) {
  const response = await fetch(`${org.login_url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${org.admin_token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, body: json ?? text };
}

/// `partner.env` of the org's data dir as an object (the sample setup's consumer key, channel
/// address, CCD name...).
export function partnerEnv(org) {
  const text = readFileSync(join(org.dataDir, 'partner.env'), 'utf8');
  const out = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Z_]+)=(.*)$/);
    if (!m) continue;
    let v = m[2].trim();
    if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    out[m[1]] = v;
  }
  return out;
}

/// Asserts axe-core finds no serious or critical violation on the page as it is now (printing
/// the minor and moderate ones through the test's diagnostics).
export async function assertAccessible(t, page) {
  const { serious, others } = await axe(page);
  if (others.length) t.diagnostic(`axe (minor/moderate) on ${page.url()}:\n${describeViolations(others)}`);
  if (serious.length) {
    throw new Error(`axe found serious/critical violations on ${page.url()}:\n${describeViolations(serious)}`);
  }
}
