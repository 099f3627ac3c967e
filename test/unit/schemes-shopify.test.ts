import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { shopifyScheme } from '../../src/ingress/schemes/shopify.js';

const secret = 'shopify-client-secret-0123456789';
const previous = 'shopify-previous-secret-0123456789';
const body = Buffer.from(JSON.stringify({ id: 820982911946154500, email: 'jon@example.com' }));

// Shopify's documented scheme: base64 of HMAC-SHA256 over the raw body, keyed with the client secret.
const shopifyHmac = (key: string, rawBody: Buffer = body) => createHmac('sha256', key).update(rawBody).digest('base64');

const verify = (headers: Record<string, string>, rawBody: Buffer = body, secrets = [secret]) =>
  shopifyScheme.verify({ rawBody, headers, secrets, settings: {}, now: new Date() });

function flipOneByte(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy.writeUInt8(copy.readUInt8(index) ^ 1, index);
  return copy;
}

describe('SHOPIFY scheme', () => {
  it('accepts a valid signature, keyed by the webhook id and typed by the topic', () => {
    const headers = {
      'x-shopify-hmac-sha256': shopifyHmac(secret),
      'x-shopify-webhook-id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5',
      'x-shopify-topic': 'orders/create',
    };
    expect(verify(headers)).toEqual({ ok: true, eventKey: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', eventType: 'orders/create' });
  });

  it('falls back to the event id when there is no webhook id', () => {
    const headers = { 'x-shopify-hmac-sha256': shopifyHmac(secret), 'x-shopify-event-id': '98880550-7158-44d4-b7cd-2c97c8a091b5' };
    expect(verify(headers)).toEqual({ ok: true, eventKey: '98880550-7158-44d4-b7cd-2c97c8a091b5' });
  });

  it('rejects a body changed by one byte', () => {
    expect(verify({ 'x-shopify-hmac-sha256': shopifyHmac(secret) }, flipOneByte(body, 3))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('rejects a signature made with another secret', () => {
    expect(verify({ 'x-shopify-hmac-sha256': shopifyHmac('someone-else-0123456789') })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('reports a missing header as SIGNATURE_MISSING', () => {
    expect(verify({})).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
  });

  it('reports text that is not padded base64 as SIGNATURE_INVALID', () => {
    const valid = shopifyHmac(secret);
    const hex = createHmac('sha256', secret).update(body).digest('hex');
    for (const malformed of ['not base64!', valid.replace(/=+$/, ''), `${valid}=`, `sha256=${valid}`, hex.slice(1)]) {
      expect(verify({ 'x-shopify-hmac-sha256': malformed }), malformed).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('accepts the previous secret during rotation, and only then', () => {
    const headers = { 'x-shopify-hmac-sha256': shopifyHmac(previous) };
    expect(verify(headers, body, [secret, previous])).toEqual({ ok: true });
    expect(verify(headers, body, [secret])).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });
});
