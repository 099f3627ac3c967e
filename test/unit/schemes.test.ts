import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hmacSha256Scheme } from '../../src/ingress/schemes/hmac-sha256.js';
import { sharedTokenScheme } from '../../src/ingress/schemes/shared-token.js';
import { hexHmac } from '../helpers/signing.js';

const vectors = JSON.parse(readFileSync(new URL('../../../shared/vectors/signatures.json', import.meta.url), 'utf8')) as {
  github: { secret: string; headers: Record<string, string>; body: string }[];
};
const now = new Date();

describe('HMAC_SHA256 scheme', () => {
  const secret = 'acme-secret-0123456789';
  const body = Buffer.from('{"id":"evt_1","type":"order.created"}');
  const verify = (headers: Record<string, string>, rawBody = body, secrets = [secret], header?: string) =>
    hmacSha256Scheme.verify({ rawBody, headers, secrets, settings: header ? { header } : {}, now });

  it('accepts a hex signature, with or without the sha256= prefix', () => {
    expect(verify({ 'x-acme-signature': hexHmac(secret, body) })).toEqual({ ok: true });
    expect(verify({ 'x-acme-signature': `sha256=${hexHmac(secret, body)}` })).toEqual({ ok: true });
    expect(verify({ 'x-acme-signature': hexHmac(secret, body).toUpperCase() })).toEqual({ ok: true });
  });

  it('verifies the published GitHub vector (the same HMAC construction) in a configured header', () => {
    for (const vector of vectors.github) {
      const result = verify(vector.headers, Buffer.from(vector.body), [vector.secret], 'x-hub-signature-256');
      expect(result).toEqual({ ok: true });
    }
  });

  it('rejects the published vector after any one-byte change', () => {
    const vector = vectors.github[0]!;
    const signature = vector.headers['x-hub-signature-256']!;
    const flipped = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
    expect(verify({ 'x-hub-signature-256': flipped }, Buffer.from(vector.body), [vector.secret], 'x-hub-signature-256').ok).toBe(false);
    expect(verify(vector.headers, Buffer.from(`${vector.body} `), [vector.secret], 'x-hub-signature-256').ok).toBe(false);
  });

  it('rejects a tampered body, a wrong secret, a missing header and non-hex text', () => {
    const signature = hexHmac(secret, body);
    expect(verify({ 'x-acme-signature': signature }, Buffer.from('{"id":"evt_2"}'))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(verify({ 'x-acme-signature': hexHmac('another-secret-0123456', body) })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(verify({})).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    expect(verify({ 'x-acme-signature': 'not-hex' })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    // A prefix of the right signature (valid hex, wrong length) is not a match.
    expect(verify({ 'x-acme-signature': signature.slice(0, 32) })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('accepts either active secret during rotation', () => {
    const previous = 'previous-secret-0123456789';
    expect(verify({ 'x-acme-signature': hexHmac(previous, body) }, body, [secret, previous])).toEqual({ ok: true });
    expect(verify({ 'x-acme-signature': hexHmac(previous, body) }, body, [secret])).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });
});

describe('SHARED_TOKEN scheme', () => {
  const token = 'globex-token-0123456789';
  const verify = (headers: Record<string, string>, secrets = [token], header?: string) =>
    sharedTokenScheme.verify({ rawBody: Buffer.from('{}'), headers, secrets, settings: header ? { header } : {}, now });

  it('accepts the token in the default or a configured header', () => {
    expect(verify({ 'x-globex-token': token })).toEqual({ ok: true });
    expect(verify({ 'x-partner-auth': token }, [token], 'x-partner-auth')).toEqual({ ok: true });
  });

  it('rejects a wrong token, a prefix of the token and a missing header', () => {
    expect(verify({ 'x-globex-token': 'globex-token-9876543210' })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(verify({ 'x-globex-token': token.slice(0, -1) })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(verify({})).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
  });
});
