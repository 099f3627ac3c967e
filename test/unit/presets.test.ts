import { describe, expect, it } from 'vitest';
import { SUPPORTED_SCHEMES, schemeFor } from '../../src/ingress/schemes/index.js';
import { DOC_CASES } from '../helpers/preset-cases-docs.js';
import { SDK_CASES } from '../helpers/preset-cases-sdk.js';
import { tampered, TOLERANCE, verifyCase, type PresetCase } from '../helpers/preset-harness.js';

const CASES: PresetCase[] = [...SDK_CASES, ...DOC_CASES];

describe('provider presets', () => {
  it('has a case for every preset in the registry, and at least 30 presets', () => {
    expect(CASES.map((c) => c.scheme).sort()).toEqual([...SUPPORTED_SCHEMES].sort());
    expect(SUPPORTED_SCHEMES.length).toBeGreaterThanOrEqual(30);
    for (const name of SUPPORTED_SCHEMES) expect(schemeFor(name)!.name).toBe(name);
  });
});

describe.each(CASES)('$scheme', (c) => {
  it(`accepts the request the provider makes: ${c.source}`, async () => {
    const request = await c.providerRequest();
    const result = verifyCase(c, request, { now: request.now });
    expect(result).toMatchObject({ ok: true, ...(c.expected?.eventKey ? { eventKey: c.expected.eventKey } : {}), ...(c.expected?.eventType ? { eventType: c.expected.eventType } : {}) });
  });

  it(c.bodyBound === false ? 'does not bind the body (a token or a signature over other fields): a changed body still verifies' : 'refuses a tampered body', async () => {
    const request = await c.providerRequest();
    const result = verifyCase(c, { ...request, body: tampered(c, request.body) }, { now: request.now });
    expect(result).toEqual(c.bodyBound === false ? expect.objectContaining({ ok: true }) : { ok: false, code: 'SIGNATURE_INVALID' });
  });

  it('refuses a wrong key, and accepts the previous key while a rotation lasts', async () => {
    const request = await c.providerRequest();
    expect(verifyCase(c, request, { now: request.now, secrets: [c.wrongSecret] })).toEqual({ ok: false, code: 'SIGNATURE_INVALID' });
    expect(verifyCase(c, request, { now: request.now, secrets: [c.wrongSecret, c.secret] })).toMatchObject({ ok: true });
  });

  if (c.timestamped) it('refuses a timestamp outside the tolerance, too old and too new', async () => {
    const request = await c.providerRequest();
    const shift = (TOLERANCE + 60) * 1000;
    expect(verifyCase(c, request, { now: new Date(request.now.getTime() + shift) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_OLD' });
    expect(verifyCase(c, request, { now: new Date(request.now.getTime() - shift) })).toEqual({ ok: false, code: 'TIMESTAMP_TOO_NEW' });
  });
  if (!c.timestamped) it('signs no timestamp, so a request has no age to check', () => expect(c.timestamped).toBeFalsy());

  it('refuses a request without its signature', async () => {
    const request = await c.providerRequest();
    for (const header of c.signatureHeaders) {
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== header));
      expect(verifyCase(c, { ...request, headers }, { now: request.now }), header).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    }
    if (c.strip) expect(verifyCase(c, c.strip(request), { now: request.now })).toEqual({ ok: false, code: 'SIGNATURE_MISSING' });
    expect(c.signatureHeaders.length > 0 || c.strip).toBeTruthy();
  });

  it(`signs a sample (hookgate send) that it verifies${c.sdkAccepts ? ' and the provider library accepts' : ''}`, async () => {
    const scheme = schemeFor(c.scheme)!;
    const now = new Date();
    const sample = scheme.sign(Buffer.from(c.body), { secret: c.sampleKeys?.privateKey ?? c.secret, id: 'sample-1', now, settings: {}, ...(c.url ? { url: c.url } : {}) });
    const request = { headers: sample.headers, body: sample.body.toString('utf8') };
    const key = c.sampleKeys?.publicKey ?? c.secret;
    expect(verifyCase({ ...c, contentType: sample.contentType }, request, { now, secrets: [key] })).toMatchObject({ ok: true });
    if (c.sdkAccepts) expect(await c.sdkAccepts(request, key)).toBe(true);
  });
});
