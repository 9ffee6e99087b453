// The partner's side of the main flow, outside the browser: a JWT Bearer assertion signed with
// the private key (Node's crypto), the token endpoint, and one inbound message to the Interaction
// API, byte for byte as a connector sends them.

import { createSign, randomUUID } from 'node:crypto';

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

/// An RS256 JWT Bearer assertion: iss = the app's consumer key, sub = the username, aud = the
/// login URL (byoc accepts its own login URL and Salesforce's two), valid three minutes.
export function assertion({ consumerKey, username, audience, privateKeyPem }) {
  const header = b64url(JSON.stringify({ alg: 'RS256' }));
  const now = Math.floor(Date.now() / 1000);
  const claims = b64url(JSON.stringify({ iss: consumerKey, sub: username, aud: audience, exp: now + 180 }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${signer.sign(privateKeyPem).toString('base64url')}`;
}

/// `POST /services/oauth2/token` with the JWT Bearer grant. Returns `{ status, body }`.
export async function token(loginUrl, jwt) {
  const response = await fetch(`${loginUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/// `POST /api/v1/interactions`: a text message from `from` to the channel address `to`, as the
/// multipart request (one `json` part) the Interaction API takes. Returns `{ status, body }`.
export async function sendText({ scrtUrl, accessToken, orgId, authorizationContext, to, from, text }) {
  const id = randomUUID();
  const request = {
    to,
    from,
    interactions: [{
      timestamp: Date.now(),
      interactionType: 'EntryInteraction',
      payload: {
        id,
        entryType: 'Message',
        abstractMessage: { messageType: 'StaticContentMessage', id, staticContent: { formatType: 'Text', text } },
      },
    }],
  };
  const form = new FormData();
  form.append('json', new Blob([JSON.stringify(request)], { type: 'application/json' }));
  const response = await fetch(`${scrtUrl}/api/v1/interactions`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${accessToken}`,
      OrgId: orgId,
      AuthorizationContext: authorizationContext,
      RequestId: randomUUID(),
    },
    body: form,
  });
  const body = await response.text();
  let json = null;
  try { json = JSON.parse(body); } catch { /* not JSON */ }
  return { status: response.status, body: json ?? body };
}
