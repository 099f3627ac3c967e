import { createHash } from 'node:crypto';
import { toFormBody } from '../form-body.js';
import { hmacPreset } from './hmac-preset.js';
import { field } from './signature-readers.js';
import { fromHex } from './constant-time.js';
import type { VerificationInput } from './types.js';

interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

/**
 * Where Mailgun puts its signature: inside the body, as `signature: {timestamp, token, signature}`
 * of a JSON webhook, or as top-level fields of a form post (routes, legacy webhooks).
 */
function signatureIn(input: VerificationInput): MailgunSignature | null {
  const payload = input.payload?.();
  const nested = field(payload, 'signature');
  const source = nested !== null && typeof nested === 'object' ? nested : payload;
  const [timestamp, token, signature] = ['timestamp', 'token', 'signature'].map((name) => field(source, name));
  return typeof timestamp === 'string' && typeof token === 'string' && typeof signature === 'string' ? { timestamp, token, signature } : null;
}

/**
 * Mailgun ("Securing Webhooks"): hex HMAC-SHA256, keyed with the HTTP webhook signing key, of
 * `${timestamp}${token}`, both sent in the body beside the signature. The signature therefore does
 * not cover the rest of the body; the event id and type are read from `event-data`.
 */
export const mailgunScheme = hmacPreset({
  name: 'MAILGUN',
  bodyKinds: ['json', 'form'],
  defaultEventKeyPath: '$.event-data.id',
  defaultEventTypePath: '$.event-data.event',
  read: (input) => {
    const found = signatureIn(input);
    if (!found) return 'missing';
    const signature = fromHex(found.signature);
    return signature ? { signatures: [signature], timestamp: found.timestamp } : 'invalid';
  },
  signed: (input) => {
    const found = signatureIn(input);
    return found ? [found.timestamp, found.token] : null;
  },
  write: () => ({}),
  sampleBody: (body, mac, options) => {
    const timestamp = String(Math.floor(options.now.getTime() / 1000));
    const token = createHash('sha256').update(options.id).digest('hex').slice(0, 50);
    const signature = { timestamp, token, signature: mac(timestamp, token).toString('hex') };
    const text = body.toString('utf8');
    if (text.trimStart().startsWith('{')) {
      return Buffer.from(JSON.stringify({ ...(JSON.parse(text) as Record<string, unknown>), signature }));
    }
    return Buffer.concat([body, body.length > 0 ? Buffer.from('&') : Buffer.alloc(0), toFormBody(signature)]);
  },
});
