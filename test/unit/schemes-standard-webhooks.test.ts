import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { standardWebhooksScheme } from '../../src/ingress/schemes/standard-webhooks.js';
import type { VerificationSettings } from '../../src/db/schema.js';

const vectors = JSON.parse(readFileSync(new URL('../../../shared/vectors/signatures.json', import.meta.url), 'utf8')) as {
  standardWebhooks: {
    secret: string;
    headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string };
    body: string;
  }[];
};
const secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
const previous = 'whsec_EwYfHzY7oQUhFm2kZcnv3iFH8m2Ri3kf';
const msgId = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f1W';
const payload = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1' } });
const body = Buffer.from(payload);
const signedAt = 1_700_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

const signedHeaders = (signingSecret = secret, timestamp = signedAt) => ({
  'webhook-id': msgId,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': new Webhook(signingSecret).sign(msgId, at(timestamp), payload),
});

interface VerifyOptions {
  rawBody?: Buffer;
  secrets?: string[];
  now?: Date;
  settings?: VerificationSettings;
}

function verify(
  headers: Record<string, string>,
  { rawBody = body, secrets = [secret], now = at(signedAt), settings = {} }: VerifyOptions = {},
) {
  return standardWebhooksScheme.verify({ rawBody, headers, secrets, settings, now });
}

function flipOneByte(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy.writeUInt8(copy.readUInt8(index) ^ 1, index);
  return copy;
}

describe('STANDARD_WEBHOOKS scheme', () => {
  it('accepts a signature made by the standardwebhooks SDK, keyed by the signed webhook-id', () => {
    expect(verify(signedHeaders())).toEqual({ ok: true, eventKey: msgId });
  });

  it('accepts both published vectors with the clock at their timestamp', () => {
    for (const vector of vectors.standardWebhooks) {
      const now = at(Number(vector.headers['webhook-timestamp']));
      expect(verify(vector.headers, { rawBody: Buffer.from(vector.body), secrets: [vector.secret], now })).toEqual({
        ok: true,
        eventKey: vector.headers['webhook-id'],
      });
    }
  });

  it('rejects each published vector after a one-byte change to the body, id, timestamp or signature', () => {
    for (const vector of vectors.standardWebhooks) {
      const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } = vector.headers;
      const options = { rawBody: Buffer.from(vector.body), secrets: [vector.secret], now: at(Number(timestamp)) };
      const changedSignature = signature.slice(0, 6) + (signature[6] === 'A' ? 'B' : 'A') + signature.slice(7);
      const changedTimestamp = timestamp.slice(0, -1) + ((Number(timestamp.slice(-1)) + 1) % 10);
      const changedId = id.slice(0, -1) + (id.endsWith('a') ? 'b' : 'a');
      const rejected = { ok: false, code: 'SIGNATURE_INVALID' };

      expect(verify(vector.headers, { ...options, rawBody: flipOneByte(options.rawBody, options.rawBody.length - 2) })).toEqual(rejected);
      expect(verify({ ...vector.headers, 'webhook-id': changedId }, options)).toEqual(rejected);
      expect(verify({ ...vector.headers, 'webhook-timestamp': changedTimestamp }, options)).toEqual(rejected);
      expect(verify({ ...vector.headers, 'webhook-signature': changedSignature }, options)).toEqual(rejected);
    }
  });

  it('accepts Svix header names when the webhook-* ones are absent', () => {
    const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } = signedHeaders();
    const headers = { 'svix-id': id, 'svix-timestamp': timestamp, 'svix-signature': signature };
    expect(verify(headers)).toEqual({ ok: true, eventKey: msgId });
  });

  it('accepts when any v1 entry matches, skipping entries of other versions', () => {
    const valid = signedHeaders()['webhook-signature'];
    const wrong = signedHeaders('whsec_c29tZW9uZSBlbHNlIGVudGlyZWx5')['webhook-signature'];
    const v1a = `v1a,${Buffer.alloc(64, 7).toString('base64')}`;
    expect(verify({ ...signedHeaders(), 'webhook-signature': `${v1a} ${wrong} ${valid}` })).toEqual({ ok: true, eventKey: msgId });
    expect(verify({ ...signedHeaders(), 'webhook-signature': `${valid.replace('v1,', 'v1a,')} ${wrong}` })).toEqual({
      ok: false,
      code: 'SIGNATURE_INVALID',
    });
  });

  it('decodes a secret without the whsec_ prefix as base64', () => {
    const unprefixed = Buffer.alloc(32, 0x5a).toString('base64');
    expect(verify(signedHeaders(unprefixed), { secrets: [unprefixed] })).toEqual({ ok: true, eventKey: msgId });
  });

  it('uses a secret that is not base64 as its own UTF-8 bytes', () => {
    for (const plain of ['a plain shared secret!', 'whsec_not base64 either']) {
      const signature = createHmac('sha256', plain).update(`${msgId}.${signedAt}.`).update(body).digest('base64');
      const headers = { ...signedHeaders(), 'webhook-signature': `v1,${signature}` };
      expect(verify(headers, { secrets: [plain] }), plain).toEqual({ ok: true, eventKey: msgId });
    }
  });

  it('rejects a body changed by one byte', () => {
    expect(verify(signedHeaders(), { rawBody: flipOneByte(body, 4) })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('rejects a signature made with another secret', () => {
    expect(verify(signedHeaders('whsec_c29tZW9uZSBlbHNlIGVudGlyZWx5'))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('reports any missing header as SIGNATURE_MISSING', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers: Record<string, string> = { ...signedHeaders() };
      delete headers[name];
      expect(verify(headers), name).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    }
  });

  it('reports a malformed signature list or a non-numeric timestamp as SIGNATURE_INVALID', () => {
    const valid = signedHeaders()['webhook-signature'];
    for (const malformed of [valid.slice(3), 'v1', `v1,${valid.slice(3, -1)}`, 'v1,@@@@', `${valid} v1,not-base64`]) {
      expect(verify({ ...signedHeaders(), 'webhook-signature': malformed }), malformed).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
    for (const timestamp of ['soon', '-1', `${signedAt}.5`]) {
      expect(verify({ ...signedHeaders(), 'webhook-timestamp': timestamp }), timestamp).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('accepts a timestamp exactly at the default tolerance and rejects one second beyond, in each direction', () => {
    expect(verify(signedHeaders(), { now: at(signedAt + 300) }).ok).toBe(true);
    expect(verify(signedHeaders(), { now: at(signedAt + 301) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verify(signedHeaders(), { now: at(signedAt - 300) }).ok).toBe(true);
    expect(verify(signedHeaders(), { now: at(signedAt - 301) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });

  it('honours a custom toleranceSeconds', () => {
    const settings = { toleranceSeconds: 120 };
    expect(verify(signedHeaders(), { now: at(signedAt + 120), settings }).ok).toBe(true);
    expect(verify(signedHeaders(), { now: at(signedAt + 121), settings })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verify(signedHeaders(), { now: at(signedAt - 120), settings }).ok).toBe(true);
    expect(verify(signedHeaders(), { now: at(signedAt - 121), settings })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });

  it('says nothing about the clock to a caller without the secret', () => {
    const forged = signedHeaders('whsec_c29tZW9uZSBlbHNlIGVudGlyZWx5', signedAt - 3600);
    expect(verify(forged)).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('accepts the previous secret during rotation, and only then', () => {
    expect(verify(signedHeaders(previous), { secrets: [secret, previous] })).toEqual({ ok: true, eventKey: msgId });
    expect(verify(signedHeaders(previous), { secrets: [secret] })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });
});
