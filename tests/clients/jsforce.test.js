// jsforce (https://jsforce.github.io), used as its documentation shows, against a live byoc
// (scripts/client-test starts it; BYOC_DATA_DIR, BYOC_BIN): SOAP login with the admin's username
// and password, SOQL on the CCD with its vendor type, describe of the platform event, a CCD
// created through the Tooling API, and an interaction through a channel built on that CCD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jsforce from 'jsforce';

const dataDir = process.env.BYOC_DATA_DIR;
const bin = process.env.BYOC_BIN;
assert.ok(dataDir && bin, 'run through scripts/client-test (BYOC_DATA_DIR, BYOC_BIN)');
const org = JSON.parse(readFileSync(join(dataDir, 'org.json'), 'utf8'));
// partner.env's settings (KEY="value" lines), for the sample CCD and its event field names.
const partner = Object.fromEntries(
  readFileSync(join(dataDir, 'partner.env'), 'utf8')
    .split('\n')
    .map((line) => line.match(/^([A-Z_]+)="?(.*?)"?$/))
    .filter(Boolean)
    .map((m) => [m[1], m[2]]),
);

// jsforce 3's default API version (50.0) is used as it comes: byoc serves 31.0 … 68.0, as a
// real org does (docs/rest-api.md).
const run = promisify(execFile);
const byoc = (args, env = {}) =>
  run(bin, ['--data-dir', dataDir, ...args], { env: { ...process.env, ...env } });

let conn;

test('SOAP login with the admin username and password', async () => {
  conn = new jsforce.Connection({ loginUrl: org.login_url });
  const userInfo = await conn.login(org.admin_username, org.admin_password);
  assert.equal(userInfo.organizationId.slice(0, 15), org.org_id);
  assert.match(userInfo.id, /^005/);
  assert.ok(conn.accessToken.startsWith(`${org.org_id}!`), conn.accessToken);
  assert.equal(conn.instanceUrl, new URL(org.instance_url).origin);

  const wrong = new jsforce.Connection({ loginUrl: org.login_url });
  await assert.rejects(wrong.login(org.admin_username, 'not-the-password'), {
    message: /^INVALID_LOGIN: Invalid username, password, security token; or user locked out\.$/,
  });
});

test('SOQL: the CCD with its vendor type', async () => {
  const result = await conn.query(
    'SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition',
  );
  assert.equal(result.done, true);
  const sample = result.records.find((r) => r.DeveloperName === partner.SF_AUTHORIZATION_CONTEXT);
  assert.ok(sample, JSON.stringify(result.records));
  assert.equal(sample.attributes.type, 'ConversationChannelDefinition');
  assert.equal(sample.ConversationVendorInfo.VendorType, 'BringYourOwnChannel');

  await assert.rejects(conn.query('SELECT FROM ConversationChannelDefinition'), {
    errorCode: 'MALFORMED_QUERY',
  });
  await assert.rejects(conn.query('SELECT Nope FROM ConversationChannelDefinition'), (err) => {
    assert.equal(err.errorCode, 'INVALID_FIELD');
    assert.match(err.message, /ERROR at Row:1:Column:8\nNo such column 'Nope' on entity 'ConversationChannelDefinition'/);
    return true;
  });
});

test('describe of the platform event names its custom fields', async () => {
  const event = await conn.sobject('Byoc_Outbound__e').describe();
  assert.equal(event.name, 'Byoc_Outbound__e');
  const fields = new Map(event.fields.map((f) => [f.name, f]));
  for (const name of [
    partner.SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD,
    partner.SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD,
    partner.SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD,
    partner.SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD,
  ]) {
    assert.ok(fields.has(name), `${name} in ${[...fields.keys()]}`);
    assert.equal(fields.get(name).custom, true, name);
  }
});

const ccdName = `Jsforce_CCD_${process.pid}`;

test('Tooling API: create a CCD, read it back', async () => {
  const saved = await conn.tooling.sobject('ConversationChannelDefinition').create({
    DeveloperName: ccdName,
    MasterLabel: 'Jsforce CCD',
    CustomPlatformEvent: 'Byoc_Outbound__e',
    CustomEventPayloadField: partner.SF_PUB_SUB_CUSTOM_EVENT_PAYLOAD_FIELD,
    CustomEventTypeField: partner.SF_PUB_SUB_CUSTOM_EVENT_TYPE_FIELD,
    CustomEventChannelAddressIdField: partner.SF_PUB_SUB_CUSTOM_EVENT_CHANNEL_ADDRESS_ID_FIELD,
    CustomEventRecipientField: partner.SF_PUB_SUB_CUSTOM_EVENT_RECIPIENT_FIELD,
    RoutingOwner: 'Salesforce',
    ConsentOwner: 'Salesforce',
    // The customer links their own app (below); a partner-managed CCD's app comes from a package.
    ConnectedAppType: 'Customer',
  });
  assert.equal(saved.success, true, JSON.stringify(saved));
  assert.match(saved.id, /^[0-9A-Za-z]{18}$/);

  const found = await conn.tooling.query(
    `SELECT Id, DeveloperName FROM ConversationChannelDefinition WHERE DeveloperName = '${ccdName}'`,
  );
  assert.equal(found.totalSize, 1);
  assert.equal(found.records[0].Id, saved.id);
});

test('an interaction through a channel on the new CCD is accepted', async () => {
  const address = `jsforce-${process.pid}`;
  await byoc([
    'setup', 'channel', 'create', '--name', 'Jsforce Channel',
    '--type', 'byoc-messaging', '--address', address, '--ccd', ccdName,
  ]);
  await byoc(['setup', 'ccd', 'set', ccdName, '--app', 'BYOC Sample App']);
  // `byoc send` exits 0 only on the Interaction API's 202.
  const { stdout } = await byoc(['send', '--to', address, '--output', 'json', '--text', 'hello from jsforce'], {
    SF_AUTHORIZATION_CONTEXT: ccdName,
  });
  const sent = JSON.parse(stdout);
  assert.equal(sent.success, true, stdout);
  // The entry is there for SOQL, in the conversation (MessagingSession) the answer names.
  const entries = await conn.query(
    `SELECT Message, ActorType FROM ConversationEntry WHERE ConversationId = '${sent.workItemIds[0]}'`,
  );
  assert.deepEqual(
    entries.records.map((r) => [r.Message, r.ActorType]),
    [['hello from jsforce', 'EndUser']],
  );
});
