import { createHmac, createPrivateKey, sign } from 'node:crypto';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { TEST_KEY_PAIRS } from '../../src/cli/test-keys.js';
import type { Integration } from '../../src/db/schema.js';
import { createWebhookHandler, type HandshakeAudit, type WebhookRequest } from '../../src/ingress/handle-webhook.js';
import type { SchemeName } from '../../src/ingress/schemes/index.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import type { IngressRecord } from '../../src/ports/event-log.js';

/** Handshakes through the ingress decision (no HTTP): answered byte for byte, audited, never published. */

const SECRET = 'provider-signing-secret-0123456789';
const now = () => new Date();

function setup(scheme: SchemeName, options: { secret?: string; settings?: Integration['settings']; audit?: (entry: HandshakeAudit) => Promise<void> } = {}) {
  const published: IngressRecord[] = [];
  const audited: HandshakeAudit[] = [];
  const integration: Integration = {
    id: 'c23e51a4-0550-435c-a194-a91bd457fae6',
    provider: 'p',
    name: 'P',
    scheme,
    settings: options.settings ?? {},
    secret: options.secret ?? SECRET,
    previousSecret: null,
    previousSecretExpiresAt: null,
    secretRotatedAt: null,
    enabled: true,
    rateLimitPerMinute: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  };
  const handle = createWebhookHandler({
    integrations: { find: async () => integration, changed: async () => {}, listen: async () => async () => {} },
    producer: { start: async () => {}, stop: async () => {}, healthy: async () => true, publish: async (record) => void published.push(record) },
    rateLimiter: { consume: async () => ({ allowed: true, retryAfterMs: 0 }) },
    metrics: createMetrics({ defaultMetrics: false }),
    log: silentLogger,
    maxBodyBytes: 4096,
    defaultRateLimitPerMinute: 100,
    recordHandshake: options.audit ?? (async (entry) => void audited.push(entry)),
    now,
  });
  return { handle, published, audited };
}

function request(body: string, headers: Record<string, string>, extra: Partial<WebhookRequest> = {}): WebhookRequest {
  const raw = Buffer.from(body);
  return {
    provider: 'p',
    requestId: 'req-1',
    sourceIp: '203.0.113.9',
    headers: { 'content-type': 'application/json', ...headers },
    readBody: async () => ({ ok: true, body: raw }),
    ...extra,
  };
}

const ts = () => String(Math.floor(Date.now() / 1000));
const hex = (key: string, data: string) => createHmac('sha256', key).update(data).digest('hex');

describe('handshakes', () => {
  it('Slack url_verification: the challenge comes back as text, audited, not stored; unsigned it is refused', async () => {
    const { handle, published, audited } = setup('SLACK');
    const body = '{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';
    const t = ts();
    const outcome = await handle(request(body, { 'x-slack-request-timestamp': t, 'x-slack-signature': `v0=${hex(SECRET, `v0:${t}:${body}`)}` }));
    expect(outcome).toEqual({
      kind: 'handshake',
      reply: { kind: 'slack.url_verification', status: 200, headers: { 'content-type': 'text/plain' }, body: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' },
    });
    expect(audited).toEqual([{ integrationId: 'c23e51a4-0550-435c-a194-a91bd457fae6', provider: 'p', kind: 'slack.url_verification', requestId: 'req-1', sourceIp: '203.0.113.9' }]);
    expect(published).toHaveLength(0);
    expect(await handle(request(body, { 'x-slack-request-timestamp': t, 'x-slack-signature': `v0=${'0'.repeat(64)}` }))).toMatchObject({ kind: 'rejected', code: 'SIGNATURE_INVALID' });
    expect(audited).toHaveLength(1);
  });

  it('Discord PING: answered {"type":1} exactly; a badly signed PING gets 401, as Discord checks', async () => {
    const { handle, published } = setup('DISCORD', { secret: TEST_KEY_PAIRS.ed25519.publicKey });
    const body = '{"application_id":"1","id":"2","token":"t","type":1,"version":1}';
    const t = ts();
    const signature = sign(null, Buffer.from(t + body), createPrivateKey(TEST_KEY_PAIRS.ed25519.privateKey)).toString('hex');
    const outcome = await handle(request(body, { 'x-signature-ed25519': signature, 'x-signature-timestamp': t }));
    expect(outcome).toEqual({ kind: 'handshake', reply: { kind: 'discord.ping', status: 200, headers: { 'content-type': 'application/json' }, body: '{"type":1}' } });
    expect(published).toHaveLength(0);
    const forged = await handle(request(body, { 'x-signature-ed25519': signature.replace(/^./, (c) => (c === '0' ? '1' : '0')), 'x-signature-timestamp': t }));
    expect(forged).toMatchObject({ kind: 'rejected', code: 'SIGNATURE_INVALID' });
  });

  it('Zoom endpoint.url_validation: plainToken and its HMAC come back as JSON; unsigned it is refused (no signing oracle)', async () => {
    const { handle, published } = setup('ZOOM');
    const body = '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}';
    const t = ts();
    const outcome = await handle(request(body, { 'x-zm-request-timestamp': t, 'x-zm-signature': `v0=${hex(SECRET, `v0:${t}:${body}`)}` }));
    expect(outcome).toEqual({
      kind: 'handshake',
      reply: {
        kind: 'zoom.url_validation',
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: `{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"${hex(SECRET, 'qgg8vlvZRS6UYooatFL8Aw')}"}`,
      },
    });
    expect(published).toHaveLength(0);
    expect(await handle(request(body, {}))).toMatchObject({ kind: 'rejected', code: 'SIGNATURE_MISSING' });
  });

  it('Microsoft Graph validationToken: echoed as text/plain before any body or signature check', async () => {
    const { handle, audited } = setup('MICROSOFT_GRAPH');
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 8f9a5c3e-6d2b-4f1a-9e7c-1b2d3c4e5f60';
    const outcome = await handle(request('', { 'content-type': 'text/plain; charset=utf-8' }, { query: `validationToken=${encodeURIComponent(token)}` }));
    expect(outcome).toEqual({ kind: 'handshake', reply: { kind: 'microsoft_graph.validation', status: 200, headers: { 'content-type': 'text/plain' }, body: token } });
    expect(audited).toHaveLength(1);
  });

  it('Okta verification GET: the challenge comes back as {"verification": …}; a GET elsewhere is 405', async () => {
    const okta = setup('OKTA');
    const outcome = await okta.handle(request('', { 'x-okta-verification-challenge': 'We_b0f1a-Cd2e' }, { method: 'GET' }));
    expect(outcome).toEqual({ kind: 'handshake', reply: { kind: 'okta.verification', status: 200, headers: { 'content-type': 'application/json' }, body: '{"verification":"We_b0f1a-Cd2e"}' } });
    expect(await okta.handle(request('', {}, { method: 'GET' }))).toMatchObject({ kind: 'rejected', code: 'METHOD_NOT_ALLOWED' });
    expect(await setup('GITHUB').handle(request('', {}, { method: 'GET' }))).toMatchObject({ kind: 'rejected', code: 'METHOD_NOT_ALLOWED' });
  });

  it('LINE "Verify" (a signed body with no events) is answered 200 and not stored', async () => {
    const { handle, published } = setup('LINE');
    const body = '{"destination":"Uxxxxxxxxxxxxxx","events":[]}';
    const outcome = await handle(request(body, { 'x-line-signature': createHmac('sha256', SECRET).update(body).digest('base64') }));
    expect(outcome).toEqual({ kind: 'handshake', reply: { kind: 'line.verify', status: 200, headers: {}, body: '' } });
    expect(published).toHaveLength(0);
  });

  it('a handshake whose audit entry cannot be written is not answered (503), so the provider asks again', async () => {
    const { handle } = setup('MICROSOFT_GRAPH', { audit: async () => Promise.reject(new Error('database down')) });
    const outcome = await handle(request('', {}, { query: 'validationToken=abc' }));
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'SERVICE_UNAVAILABLE' });
  });
});

describe('bodies beyond JSON objects', () => {
  const url = 'https://hooks.example.com/api/v1/webhooks/p';

  it('a Twilio form post is verified against the public URL and published raw, keyed by its idempotency token', async () => {
    const { handle, published } = setup('TWILIO', { settings: { publicUrl: url, eventTypePath: '$.SmsStatus' } });
    const body = 'MessageSid=SM1&SmsStatus=received&Body=Hi+there';
    const signature = twilio.getExpectedTwilioSignature(SECRET, url, { MessageSid: 'SM1', SmsStatus: 'received', Body: 'Hi there' });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'i-twilio-idempotency-token': 'idem-9' };
    expect(await handle(request(body, headers))).toMatchObject({ kind: 'accepted' });
    expect(published[0]).toMatchObject({ eventKey: 'idem-9', eventType: 'received' });
    expect(published[0]!.rawBody.toString()).toBe(body);
    expect(published[0]!.headers['x-twilio-signature']).toBeUndefined();
    // The URL is part of what Twilio signs: another query string is another URL.
    expect(await handle(request(body, headers, { query: 'x=1' }))).toMatchObject({ kind: 'rejected', code: 'SIGNATURE_INVALID' });
    expect(await handle(request(body, { ...headers, 'content-type': 'application/json' }))).toMatchObject({ kind: 'rejected', code: 'UNSUPPORTED_MEDIA_TYPE' });
    // A public URL configured with its query string is the whole signed URL.
    const withQuery = setup('TWILIO', { settings: { publicUrl: `${url}?region=eu` } });
    const signedWithQuery = twilio.getExpectedTwilioSignature(SECRET, `${url}?region=eu`, { MessageSid: 'SM1', SmsStatus: 'received', Body: 'Hi there' });
    expect(await withQuery.handle(request(body, { ...headers, 'x-twilio-signature': signedWithQuery }, { query: 'region=eu' }))).toMatchObject({ kind: 'accepted' });
  });

  it('a preset without a public URL configured refuses URL-signed requests instead of guessing the URL', async () => {
    const { handle } = setup('SQUARE');
    const body = '{"event_id":"e"}';
    const signature = createHmac('sha256', SECRET).update(`${url}${body}`).digest('base64');
    expect(await handle(request(body, { 'x-square-hmacsha256-signature': signature }))).toMatchObject({ kind: 'rejected', code: 'SIGNATURE_INVALID' });
  });

  it('a form post to a JSON-only preset is 415; a JSON array is accepted only where the provider batches', async () => {
    expect(await setup('GITHUB').handle(request('a=1', { 'content-type': 'application/x-www-form-urlencoded' }))).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const body = '[{"event":"x"}]';
    const hub = await setup('GITHUB').handle(request(body, { 'x-hub-signature-256': `sha256=${hex(SECRET, body)}` }));
    expect(hub).toMatchObject({ kind: 'rejected', code: 'VALIDATION_ERROR' });
    const t = String(Date.now());
    const spot = setup('HUBSPOT', { settings: { publicUrl: url } });
    const signature = createHmac('sha256', SECRET).update(`POST${url}${body}${t}`).digest('base64');
    expect(await spot.handle(request(body, { 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': t }))).toMatchObject({ kind: 'accepted' });
  });
});
