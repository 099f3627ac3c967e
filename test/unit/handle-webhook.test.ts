import { describe, expect, it } from 'vitest';
import type { Integration } from '../../src/db/schema.js';
import { createWebhookHandler, storedHeaders, type WebhookRequest } from '../../src/ingress/handle-webhook.js';
import type { IntegrationDirectory } from '../../src/ingress/integration-directory.js';
import { silentLogger } from '../../src/log.js';
import { createMetrics } from '../../src/metrics.js';
import type { Coordination } from '../../src/ports/coordination.js';
import type { EventLogProducer, IngressRecord } from '../../src/ports/event-log.js';
import { hexHmac } from '../helpers/signing.js';

const secret = 'acme-secret-0123456789';
const integration: Integration = {
  id: 'c23e51a4-0550-435c-a194-a91bd457fae6',
  provider: 'acme',
  name: 'Acme',
  scheme: 'HMAC_SHA256',
  settings: { eventKeyPath: '$.id' },
  secret,
  previousSecret: null,
  previousSecretExpiresAt: null,
  secretRotatedAt: null,
  enabled: true,
  rateLimitPerMinute: null,
  createdAt: new Date(),
  updatedAt: new Date(),
};

function setup(
  options: {
    publish?: (record: IngressRecord) => Promise<void>;
    integration?: Integration | null;
    rateLimit?: Coordination['consumeRateLimit'];
  } = {},
) {
  const published: IngressRecord[] = [];
  const directory: IntegrationDirectory = {
    find: async (provider) => (provider === 'acme' ? (options.integration === undefined ? integration : options.integration) : null),
    changed: async () => {},
    listen: async () => async () => {},
  };
  const producer: EventLogProducer = {
    start: async () => {},
    stop: async () => {},
    healthy: async () => true,
    publish: options.publish ?? (async (record) => void published.push(record)),
  };
  const handle = createWebhookHandler({
    integrations: directory,
    producer,
    rateLimiter: { consume: options.rateLimit ?? (async () => ({ allowed: true, retryAfterMs: 0 })) },
    metrics: createMetrics({ defaultMetrics: false }),
    log: silentLogger,
    maxBodyBytes: 1024,
    defaultRateLimitPerMinute: 100,
  });
  return { handle, published };
}

function request(body: string, headers: Record<string, string> = {}, provider = 'acme'): WebhookRequest {
  const raw = Buffer.from(body);
  return {
    provider,
    requestId: 'req-1',
    sourceIp: '127.0.0.1',
    headers: { 'content-type': 'application/json', 'x-acme-signature': hexHmac(secret, raw), ...headers },
    readBody: async (max) => (raw.length > max ? { ok: false, reason: 'TOO_LARGE' } : { ok: true, body: raw }),
  };
}

describe('handleWebhook', () => {
  it('accepts a signed object, keyed by the configured path, and publishes the raw bytes', async () => {
    const { handle, published } = setup();
    const body = '{"id":"evt_1", "type":"order.created"}';
    const outcome = await handle(request(body));
    expect(outcome).toMatchObject({ kind: 'accepted' });
    expect(published).toHaveLength(1);
    expect(published[0]!.eventKey).toBe('evt_1');
    expect(published[0]!.eventType).toBe('order.created');
    expect(published[0]!.rawBody.toString()).toBe(body);
    expect(published[0]!.headers['x-acme-signature']).toBeUndefined();
  });

  it('answers a duplicate with the same event id', async () => {
    const { handle } = setup();
    const first = await handle(request('{"id":"evt_1"}'));
    const second = await handle(request('{"id": "evt_1", "resent": true}'));
    expect(first.kind === 'accepted' && second.kind === 'accepted' && first.eventId === second.eventId).toBe(true);
  });

  it.each([
    ['an unknown provider', request('{}', {}, 'nobody'), 'NOT_FOUND'],
    ['a non-JSON content type', request('{}', { 'content-type': 'text/plain' }), 'UNSUPPORTED_MEDIA_TYPE'],
    ['a body over the limit', request(JSON.stringify({ pad: 'x'.repeat(2000) })), 'PAYLOAD_TOO_LARGE'],
    ['a declared length over the limit', request('{}', { 'content-length': '5000' }), 'PAYLOAD_TOO_LARGE'],
    ['a bad signature', request('{}', { 'x-acme-signature': 'ab'.repeat(32) }), 'SIGNATURE_INVALID'],
    ['no signature', request('{}', { 'x-acme-signature': '' }), 'SIGNATURE_MISSING'],
    ['malformed JSON', request('{"id":'), 'VALIDATION_ERROR'],
    ['a JSON array', request('[1,2]'), 'VALIDATION_ERROR'],
    ['a JSON string', request('"text"'), 'VALIDATION_ERROR'],
    ['JSON null', request('null'), 'VALIDATION_ERROR'],
  ])('rejects %s', async (_name, webhook, code) => {
    const { handle, published } = setup();
    expect(await handle(webhook)).toMatchObject({ kind: 'rejected', code });
    expect(published).toHaveLength(0);
  });

  it('treats a disabled integration as unknown', async () => {
    const { handle } = setup({ integration: { ...integration, enabled: false } });
    expect(await handle(request('{}'))).toMatchObject({ kind: 'rejected', code: 'NOT_FOUND' });
  });

  it('answers 503 with Retry-After, never accepted, when the log does not acknowledge', async () => {
    const { handle } = setup({ publish: async () => Promise.reject(new Error('broker down')) });
    expect(await handle(request('{"id":"evt_1"}'))).toEqual({
      kind: 'rejected',
      code: 'SERVICE_UNAVAILABLE',
      message: expect.any(String),
      retryAfterSeconds: 5,
    });
  });

  it('refuses an over-limit sender with Retry-After before reading the body, using the integration limit', async () => {
    const calls: [string, number][] = [];
    const { handle, published } = setup({
      integration: { ...integration, rateLimitPerMinute: 7 },
      rateLimit: async (key, limit) => {
        calls.push([key, limit]);
        return { allowed: false, retryAfterMs: 1500 };
      },
    });
    let bodyRead = false;
    const webhook = { ...request('{"id":"evt_1"}'), readBody: async () => ((bodyRead = true), { ok: true as const, body: Buffer.from('{}') }) };
    expect(await handle(webhook)).toMatchObject({ kind: 'rejected', code: 'RATE_LIMITED', retryAfterSeconds: 2 });
    expect(calls).toEqual([['acme:127.0.0.1', 7]]);
    expect(bodyRead).toBe(false);
    expect(published).toHaveLength(0);
  });

  it('lets webhooks through when the rate limiter itself is unavailable', async () => {
    const { handle } = setup({ rateLimit: async () => Promise.reject(new Error('redis down')) });
    expect(await handle(request('{"id":"evt_1"}'))).toMatchObject({ kind: 'accepted' });
  });

  it('falls back to a hash of the body when no key is configured', async () => {
    const { handle, published } = setup({ integration: { ...integration, settings: {} } });
    await handle(request('{"id":"evt_1"}'));
    expect(published[0]!.eventKey).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('storedHeaders', () => {
  it('keeps descriptive headers and drops credentials and signatures', () => {
    expect(
      storedHeaders({
        'content-type': 'application/json',
        'user-agent': 'acme/1.0',
        'x-acme-signature': 'abc',
        'x-globex-token': 'secret',
        authorization: 'Bearer x',
        'x-internal-api-key': 'k',
        'stripe-signature': 't=1,v1=x',
        'x-github-event': 'push',
      }),
    ).toEqual({ 'content-type': 'application/json', 'user-agent': 'acme/1.0', 'x-github-event': 'push' });
  });

  it('drops the header the integration authenticates with, whatever its name, and any header carrying a secret', () => {
    expect(
      storedHeaders(
        { 'content-type': 'application/json', 'x-globex-key': 'tok-123', 'x-partner-sig': 'abcdef', 'x-echo': 'copy of tok-123', 'x-note': 'fine' },
        { headers: ['X-Globex-Key', 'x-partner-sig'], secrets: ['tok-123'] },
      ),
    ).toEqual({ 'content-type': 'application/json', 'x-note': 'fine' });
  });
});
