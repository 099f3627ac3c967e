import { readFileSync } from 'node:fs';
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { githubScheme } from '../../src/ingress/schemes/github.js';

const vectors = JSON.parse(readFileSync(new URL('../../../shared/vectors/signatures.json', import.meta.url), 'utf8')) as {
  github: { secret: string; headers: Record<string, string>; body: string }[];
};
const secret = 'github-secret-0123456789';
const previous = 'github-previous-0123456789';
const payload = JSON.stringify({ action: 'opened', number: 1 });
const body = Buffer.from(payload);
const delivery = { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'x-github-event': 'pull_request' };

const verify = (headers: Record<string, string>, rawBody: Buffer = body, secrets = [secret]) =>
  githubScheme.verify({ rawBody, headers, secrets, settings: {}, now: new Date() });

function flipOneByte(buffer: Buffer, index: number): Buffer {
  const copy = Buffer.from(buffer);
  copy.writeUInt8(copy.readUInt8(index) ^ 1, index);
  return copy;
}

describe('GITHUB scheme', () => {
  it('accepts a signature made by @octokit/webhooks-methods, keyed and typed by the delivery headers', async () => {
    const headers = { 'x-hub-signature-256': await sign(secret, payload), ...delivery };
    expect(verify(headers)).toEqual({
      ok: true,
      eventKey: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      eventType: 'pull_request',
    });
  });

  it('accepts the published GitHub vector, and rejects it after a one-byte change', () => {
    for (const vector of vectors.github) {
      const vectorBody = Buffer.from(vector.body);
      expect(verify(vector.headers, vectorBody, [vector.secret]).ok).toBe(true);
      expect(verify(vector.headers, flipOneByte(vectorBody, 0), [vector.secret])).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
      const signature = vector.headers['x-hub-signature-256']!;
      const flipped = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
      expect(verify({ 'x-hub-signature-256': flipped }, vectorBody, [vector.secret])).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('rejects a body changed by one byte', async () => {
    const headers = { 'x-hub-signature-256': await sign(secret, payload) };
    expect(verify(headers, flipOneByte(body, 5))).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('rejects a signature made with another secret', async () => {
    const headers = { 'x-hub-signature-256': await sign('someone-else-0123456789', payload) };
    expect(verify(headers)).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('reports a missing header as SIGNATURE_MISSING, even when the legacy SHA-1 header is present', () => {
    expect(verify({})).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    expect(verify({ 'x-hub-signature': 'sha1=0123456789abcdef0123456789abcdef01234567' })).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
  });

  it('reports a value without the sha256= prefix or with bad hex as SIGNATURE_INVALID', async () => {
    const hex = (await sign(secret, payload)).slice('sha256='.length);
    for (const malformed of [hex, `sha1=${hex}`, 'sha256=not-hex', `sha256=${hex.slice(1)}`]) {
      expect(verify({ 'x-hub-signature-256': malformed }), malformed).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    }
  });

  it('accepts the previous secret during rotation, and only then', async () => {
    const headers = { 'x-hub-signature-256': await sign(previous, payload) };
    expect(verify(headers, body, [secret, previous]).ok).toBe(true);
    expect(verify(headers, body, [secret])).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
  });
});
