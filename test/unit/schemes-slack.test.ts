import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { slackScheme } from '../../src/ingress/schemes/slack.js';
import type { VerificationSettings } from '../../src/db/schema.js';

const secret = '8f742231b10e8888abcd99yyyzzz85a5';
const previous = 'previous-signing-secret-0123456789';
const body = Buffer.from(JSON.stringify({ type: 'event_callback', event_id: 'Ev123ABC', event: { type: 'app_mention' } }));
const signedAt = 1_700_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

// Slack's documented scheme: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret.
const slackHeaders = (key = secret, timestamp = String(signedAt), rawBody = body) => ({
  'x-slack-signature': `v0=${createHmac('sha256', key).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`,
  'x-slack-request-timestamp': timestamp,
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
  return slackScheme.verify({ rawBody, headers, secrets, settings, now });
}

function flipOneByte(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy.writeUInt8(copy.readUInt8(index) ^ 1, index);
  return copy;
}

describe('SLACK scheme', () => {
  it('accepts a valid signature and names where the Events API keeps its id and type', () => {
    expect(verify(slackHeaders())).toEqual({ ok: true });
    expect(slackScheme.defaultEventKeyPath).toBe('$.event_id');
    expect(slackScheme.defaultEventTypePath).toBe('$.event.type');
  });

  it('rejects a body changed by one byte, and a timestamp changed by one second', () => {
    expect(verify(slackHeaders(), { rawBody: flipOneByte(body, 12) })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    const headers = { ...slackHeaders(), 'x-slack-request-timestamp': String(signedAt + 1) };
    expect(verify(headers)).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('rejects a signature made with another secret', () => {
    expect(verify(slackHeaders('someone-else-0123456789'))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('reports a missing signature or timestamp header as SIGNATURE_MISSING', () => {
    const { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } = slackHeaders();
    expect(verify({})).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    expect(verify({ 'x-slack-request-timestamp': timestamp })).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    expect(verify({ 'x-slack-signature': signature })).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
  });

  it('reports a signature without v0= or with bad hex, and a non-numeric timestamp, as SIGNATURE_INVALID', () => {
    const valid = slackHeaders();
    const hex = valid['x-slack-signature'].slice('v0='.length);
    for (const malformed of [hex, `v1=${hex}`, 'v0=not-hex', `v0=${hex.slice(1)}`]) {
      expect(verify({ ...valid, 'x-slack-signature': malformed }), malformed).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
    for (const timestamp of ['soon', '-1', '1.7e9', `${signedAt}abc`]) {
      expect(verify(slackHeaders(secret, timestamp)), timestamp).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('accepts a timestamp exactly at the default tolerance and rejects one second beyond, in each direction', () => {
    expect(verify(slackHeaders(), { now: at(signedAt + 300) })).toEqual({ ok: true });
    expect(verify(slackHeaders(), { now: at(signedAt + 301) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verify(slackHeaders(), { now: at(signedAt - 300) })).toEqual({ ok: true });
    expect(verify(slackHeaders(), { now: at(signedAt - 301) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });

  it('honours a custom toleranceSeconds', () => {
    const settings = { toleranceSeconds: 30 };
    expect(verify(slackHeaders(), { now: at(signedAt + 30), settings })).toEqual({ ok: true });
    expect(verify(slackHeaders(), { now: at(signedAt + 31), settings })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verify(slackHeaders(), { now: at(signedAt - 30), settings })).toEqual({ ok: true });
    expect(verify(slackHeaders(), { now: at(signedAt - 31), settings })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });

  it('says nothing about the clock to a caller without the secret', () => {
    expect(verify(slackHeaders('someone-else-0123456789', String(signedAt - 3600)))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('accepts the previous secret during rotation, and only then', () => {
    expect(verify(slackHeaders(previous), { secrets: [secret, previous] })).toEqual({ ok: true });
    expect(verify(slackHeaders(previous), { secrets: [secret] })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });
});
