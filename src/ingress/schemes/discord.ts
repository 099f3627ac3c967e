import { fromHex } from './constant-time.js';
import { anyKeyVerifies, signWithPrivateKey } from './public-key.js';
import { field, headerOf } from './signature-readers.js';
import { parseUnixSeconds, timestampFailure } from './timestamp-tolerance.js';
import type { VerificationScheme } from './types.js';

const SIGNATURE = 'x-signature-ed25519';
const TIMESTAMP = 'x-signature-timestamp';
const PING = 1;

/**
 * Discord interactions ("Receiving and Responding to Interactions"): an Ed25519 signature (hex) over
 * `${timestamp}${rawBody}`, checked with the application's public key (hex). A PING (type 1) is the
 * endpoint check and must be answered `{"type":1}` (PONG); Discord also sends bad signatures on
 * purpose and expects 401 for them.
 */
export const discordScheme: VerificationScheme = {
  name: 'DISCORD',
  publicKey: 'ed25519',
  defaultEventKeyPath: '$.id',
  defaultEventTypePath: '$.type',
  verify({ rawBody, headers, secrets, settings, now }) {
    const value = headerOf(headers, SIGNATURE);
    const timestamp = headerOf(headers, TIMESTAMP);
    if (!value || !timestamp) return { ok: false, code: 'SIGNATURE_MISSING' };
    const signature = fromHex(value);
    const seconds = parseUnixSeconds(timestamp);
    if (!signature || signature.length !== 64 || seconds === null) return { ok: false, code: 'SIGNATURE_INVALID' };
    if (!anyKeyVerifies(secrets, 'ed25519', Buffer.concat([Buffer.from(timestamp), rawBody]), signature)) {
      return { ok: false, code: 'SIGNATURE_INVALID' };
    }
    const stale = timestampFailure(seconds, now, settings.toleranceSeconds);
    return stale ? { ok: false, code: stale } : { ok: true };
  },
  handshake(payload) {
    if (field(payload, 'type') !== PING) return null;
    return { kind: 'discord.ping', status: 200, headers: { 'content-type': 'application/json' }, body: '{"type":1}' };
  },
  sign(body, options) {
    const timestamp = String(Math.floor(options.now.getTime() / 1000));
    const signature = signWithPrivateKey('ed25519', options.secret, Buffer.concat([Buffer.from(timestamp), body]));
    return { headers: { [SIGNATURE]: signature.toString('hex'), [TIMESTAMP]: timestamp }, body, contentType: 'application/json' };
  },
};
