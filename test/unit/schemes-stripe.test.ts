import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { stripeScheme } from '../../src/ingress/schemes/stripe.js';
import type { VerificationSettings } from '../../src/db/schema.js';

const stripe = new Stripe('sk_test_x');
const secret = 'whsec_current0123456789abcdef';
const previous = 'whsec_previous0123456789abcdef';
const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded' });
const body = Buffer.from(payload);
const signedAt = 1_700_000_000;
const at = (seconds: number) => new Date(seconds * 1000);

const header = (signingSecret = secret, timestamp = signedAt) =>
  stripe.webhooks.generateTestHeaderString({ payload, secret: signingSecret, timestamp });
const v1Of = (signingSecret: string) => header(signingSecret).split(',')[1]!;

interface VerifyOptions {
  rawBody?: Buffer;
  secrets?: string[];
  now?: Date;
  settings?: VerificationSettings;
}

function verify(
  value: string | undefined,
  { rawBody = body, secrets = [secret], now = at(signedAt), settings = {} }: VerifyOptions = {},
) {
  const headers = value === undefined ? {} : { 'stripe-signature': value };
  return stripeScheme.verify({ rawBody, headers, secrets, settings, now });
}

function flipOneByte(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy.writeUInt8(copy.readUInt8(index) ^ 1, index);
  return copy;
}

describe('STRIPE scheme', () => {
  it('accepts a header made by the Stripe SDK and leaves the event key to the body', () => {
    expect(verify(header())).toEqual({ ok: true });
    expect(stripeScheme.defaultEventKeyPath).toBe('$.id');
    expect(stripeScheme.defaultEventTypePath).toBe('$.type');
  });

  it('accepts when any one of several v1 signatures matches, and ignores v0', () => {
    const wrong = v1Of('whsec_someone-else-0123456789');
    expect(verify(`t=${signedAt},${wrong},${v1Of(secret)},v0=${'0'.repeat(64)}`)).toEqual({ ok: true });
    expect(verify(`t=${signedAt},${v1Of(secret)},${wrong}`)).toEqual({ ok: true });
    expect(verify(`t=${signedAt},${wrong},v0=${v1Of(secret).slice(3)}`)).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('rejects a body changed by one byte', () => {
    expect(verify(header(), { rawBody: flipOneByte(body, 10) })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('rejects a signature made with another secret, or with the secret stripped of whsec_', () => {
    expect(verify(header('whsec_someone-else-0123456789'))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(verify(header(secret.slice('whsec_'.length)))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('reports a missing header as SIGNATURE_MISSING', () => {
    expect(verify(undefined)).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    expect(verify('')).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
  });

  it('reports a header that cannot be read as SIGNATURE_INVALID', () => {
    const v1 = v1Of(secret);
    for (const malformed of [
      v1,
      `t=${signedAt}`,
      `t=${signedAt},v0=${v1.slice(3)}`,
      `t=${signedAt},v1=not-hex`,
      `t=${signedAt},v1=${v1.slice(3, -1)}`,
      `t=soon,${v1}`,
      `t=${signedAt},t=${signedAt + 1},${v1}`,
      `t=${signedAt},${v1},garbage`,
    ]) {
      expect(verify(malformed), malformed).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('accepts a timestamp exactly at the default tolerance and rejects one second beyond, in each direction', () => {
    expect(verify(header(), { now: at(signedAt + 300) })).toEqual({ ok: true });
    expect(verify(header(), { now: at(signedAt + 301) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verify(header(), { now: at(signedAt - 300) })).toEqual({ ok: true });
    expect(verify(header(), { now: at(signedAt - 301) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });

  it('honours a custom toleranceSeconds', () => {
    const settings = { toleranceSeconds: 60 };
    expect(verify(header(), { now: at(signedAt + 60), settings })).toEqual({ ok: true });
    expect(verify(header(), { now: at(signedAt + 61), settings })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verify(header(), { now: at(signedAt - 60), settings })).toEqual({ ok: true });
    expect(verify(header(), { now: at(signedAt - 61), settings })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });

  it('says nothing about the clock to a caller without the secret', () => {
    const forged = header('whsec_someone-else-0123456789', signedAt - 3600);
    expect(verify(forged)).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('accepts the previous secret during rotation, and only then', () => {
    expect(verify(header(previous), { secrets: [secret, previous] })).toEqual({ ok: true });
    expect(verify(header(previous), { secrets: [secret] })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });
});
