import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { signAs } from '../../src/cli/sign.js';
import { TEST_KEY_PAIRS } from '../../src/cli/test-keys.js';
import { parseFormBody, toFormBody } from '../../src/ingress/form-body.js';
import { bodyKindOf, parseWebhookBody } from '../../src/ingress/parse-body.js';
import { SUPPORTED_SCHEMES, schemeFor } from '../../src/ingress/schemes/index.js';
import { jsonbCanHold } from '../../src/json/scan-json.js';

describe('form bodies', () => {
  it('keeps every field: repeated names become arrays in order, escapes and + are decoded', () => {
    expect(parseFormBody(Buffer.from('a=1&b=x+y&a=2&c=%F0%9F%98%80&d=&e'))).toEqual({ a: ['1', '2'], b: 'x y', c: '😀', d: '', e: '' });
  });

  it('treats hostile names and bytes as data: __proto__ is a field, bad UTF-8 becomes U+FFFD, a NUL keeps the payload out of jsonb', () => {
    const fields = parseFormBody(Buffer.from('__proto__=x&constructor=y&bad=%FF%FE&nul=a%00b'));
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(Object.keys(fields)).toEqual(['__proto__', 'constructor', 'bad', 'nul']);
    expect(fields.bad).toBe('\uFFFD\uFFFD');
    // The persist step stores the raw body and leaves payload null when jsonb cannot hold the view.
    expect(jsonbCanHold(Buffer.from(JSON.stringify(fields)))).toBe(false);
    expect(jsonbCanHold(Buffer.from(JSON.stringify(parseFormBody(Buffer.from('ok=1')))))).toBe(true);
  });

  it('round-trips through the sample encoder', () => {
    const fields = { To: '+1 415', Body: 'Café & crème', Media: ['a', 'b'] };
    expect(parseFormBody(toFormBody(fields))).toEqual(fields);
  });

  it('is taken only by presets whose provider posts forms', () => {
    expect(bodyKindOf('application/x-www-form-urlencoded; charset=utf-8', ['json', 'form'])).toBe('form');
    expect(bodyKindOf('application/x-www-form-urlencoded')).toBeNull();
    expect(bodyKindOf('application/cloudevents+json')).toBe('json');
    expect(bodyKindOf('text/plain', ['json', 'form'])).toBeNull();
    expect(parseWebhookBody(Buffer.from('[1]'), 'json')).toEqual({ ok: false, message: 'body must be a JSON object' });
    expect(parseWebhookBody(Buffer.from('[1]'), 'json', true)).toEqual({ ok: true, payload: [1] });
  });
});

describe('hookgate send signs for every preset', () => {
  it.each(SUPPORTED_SCHEMES)('%s: the sample verifies with the integration key (test key pair for public-key presets)', (name) => {
    const scheme = schemeFor(name)!;
    const secret = name === 'MICROSOFT_TEAMS' ? Buffer.from('teams-security-token-bytes-0123').toString('base64') : 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const key = scheme.publicKey ? TEST_KEY_PAIRS[scheme.publicKey].publicKey : secret;
    const settings = scheme.signsUrl ? { publicUrl: 'https://hooks.example.com/api/v1/webhooks/x' } : {};
    const now = new Date();
    const sample = signAs(name, key, Buffer.from('{"id":"evt_1","type":"thing.happened"}'), { id: 'cli_1', now, settings });
    const kind = bodyKindOf(sample.contentType, scheme.bodyKinds)!;
    const parsed = parseWebhookBody(sample.body, kind, scheme.acceptsArrays);
    const result = scheme.verify({
      rawBody: sample.body,
      headers: sample.headers,
      secrets: [key],
      settings,
      now,
      ...(settings.publicUrl ? { url: settings.publicUrl } : {}),
      payload: () => (parsed.ok ? parsed.payload : undefined),
    });
    expect(result).toMatchObject({ ok: true });
  });
});

describe('README', () => {
  it('has a row for every preset', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const name of SUPPORTED_SCHEMES) expect(readme, name).toMatch(new RegExp(`^\\| \`${name}\` \\|`, 'm'));
  });
});
