import { fromBase64, fromHex } from './constant-time.js';
import type { PresentedSignature } from './hmac-preset.js';
import type { RequestHeaders, VerificationInput } from './types.js';

/** How presets read their signature headers; each returns 'missing' or 'invalid' as the verifier expects. */

export type Encoding = 'hex' | 'base64';

export function decode(text: string, encoding: Encoding): Buffer | null {
  return encoding === 'hex' ? fromHex(text) : fromBase64(text);
}

export function headerOf(headers: RequestHeaders, name: string): string | undefined {
  return headers[name]?.trim() || undefined;
}

/** `<prefix><signature>` in one header, e.g. `sha256=<hex>`; the prefix is required when given. */
export function encodedHeader(name: string, encoding: Encoding, prefix = '') {
  return (input: VerificationInput): PresentedSignature | 'missing' | 'invalid' => {
    const value = headerOf(input.headers, name);
    if (!value) return 'missing';
    if (!value.startsWith(prefix)) return 'invalid';
    const signature = decode(value.slice(prefix.length), encoding);
    return signature ? { signatures: [signature] } : 'invalid';
  };
}

/** A signature header plus a separate signed-timestamp header (Slack, Zoom, HubSpot, Zendesk). */
export function encodedHeaderWithTimestamp(name: string, timestampHeader: string, encoding: Encoding, prefix = '') {
  const read = encodedHeader(name, encoding, prefix);
  return (input: VerificationInput): PresentedSignature | 'missing' | 'invalid' => {
    const timestamp = headerOf(input.headers, timestampHeader);
    const presented = read(input);
    if (presented === 'missing' || !timestamp) return 'missing';
    return presented === 'invalid' ? presented : { ...presented, timestamp };
  };
}

/**
 * `t=<unix>,v1=<sig>[,v1=<sig>…]` and its relatives (Calendly, Mux, Paddle's `ts=…;h1=…`, PagerDuty's
 * `v1=…,v1=…`). Several signatures are how providers roll a secret; a repeated timestamp is refused
 * because the tolerance could then apply to the wrong one.
 */
export function parameterHeader(name: string, options: { separator: string; timestampKey?: string; signatureKey: string; encoding: Encoding }) {
  return (input: VerificationInput): PresentedSignature | 'missing' | 'invalid' => {
    const value = headerOf(input.headers, name);
    if (!value) return 'missing';
    let timestamp: string | undefined;
    const signatures: Buffer[] = [];
    for (const item of value.split(options.separator)) {
      const at = item.indexOf('=');
      if (at <= 0) return 'invalid';
      const key = item.slice(0, at).trim();
      const text = item.slice(at + 1).trim();
      if (key === options.timestampKey) {
        if (timestamp !== undefined) return 'invalid';
        timestamp = text;
      } else if (key === options.signatureKey) {
        const signature = decode(text, options.encoding);
        if (!signature) return 'invalid';
        signatures.push(signature);
      }
    }
    if (options.timestampKey && timestamp === undefined) return 'invalid';
    return timestamp === undefined ? { signatures } : { signatures, timestamp };
  };
}

/** Milliseconds since the epoch (HubSpot, Linear) as whole seconds; null when not plain digits. */
export function millisecondsToSeconds(text: string): number | null {
  return /^\d{1,16}$/.test(text) ? Math.floor(Number(text) / 1000) : null;
}

/** A JSON object's field, when the parsed body is an object. */
export function field(payload: unknown, name: string): unknown {
  return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>)[name] : undefined;
}
