import { createHmac } from 'node:crypto';
import type { VerificationSettings } from '../../src/db/schema.js';
import { bodyKindOf, parseWebhookBody, type ParsedBody } from '../../src/ingress/parse-body.js';
import { schemeFor, type SchemeName } from '../../src/ingress/schemes/index.js';
import type { VerificationResult } from '../../src/ingress/schemes/types.js';

/**
 * One row per preset for the table-driven suite (test/unit/presets.test.ts). `providerRequest` is
 * the request as the provider makes it: from its own SDK where one is on npm, else the published
 * example or the documented construction (cited in `source`), computed here with node:crypto and
 * never with Hookgate's own signer. `sdkAccepts` asks the provider's library whether Hookgate's
 * sample signer (used by `hookgate send`) produces what the provider would.
 */
export interface ProviderRequest {
  headers: Record<string, string>;
  body: string;
  /** The clock the request is valid at. */
  now: Date;
}

export interface PresetCase {
  scheme: SchemeName;
  source: string;
  /** The key configured on the integration (secret, token or public key). */
  secret: string;
  /** A key that must not verify it. */
  wrongSecret: string;
  /** For public-key presets: the pair Hookgate's sample signer uses (private) and verifies with (public). */
  sampleKeys?: { privateKey: string; publicKey: string };
  body: string;
  contentType?: string;
  settings?: VerificationSettings;
  /** The public URL (query included) the provider signed, for presets that sign it. */
  url?: string;
  providerRequest(): ProviderRequest | Promise<ProviderRequest>;
  sdkAccepts?(sample: { headers: Record<string, string>; body: string }, key: string): boolean | Promise<boolean>;
  /** Headers without which the request is SIGNATURE_MISSING (each is dropped in turn). */
  signatureHeaders: string[];
  /** Makes the request lack its signature when it is not in a header (Mailgun, Graph). */
  strip?(request: ProviderRequest): ProviderRequest;
  timestamped?: boolean;
  /** False for token schemes and signatures that do not cover the body: a changed body still verifies. */
  bodyBound?: boolean;
  expected?: { eventKey?: string; eventType?: string };
}

export const TOLERANCE = 300;

export function hmac(algorithm: 'sha256' | 'sha1', key: string | Buffer, data: string | Buffer, encoding: 'hex' | 'base64'): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

export function seconds(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}

/** Runs a preset's verify exactly as the ingress calls it, body parsing included. */
export function verifyCase(
  c: PresetCase,
  request: { headers: Record<string, string>; body: string },
  options: { secrets?: string[]; now: Date },
): VerificationResult {
  const scheme = schemeFor(c.scheme)!;
  const rawBody = Buffer.from(request.body, 'utf8');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  const kind = bodyKindOf(c.contentType ?? 'application/json', scheme.bodyKinds) ?? 'json';
  let parsed: ParsedBody | undefined;
  return scheme.verify({
    rawBody,
    headers,
    secrets: options.secrets ?? [c.secret],
    settings: { toleranceSeconds: TOLERANCE, ...c.settings },
    now: options.now,
    method: 'POST',
    ...(c.url ? { url: c.url } : {}),
    payload: () => {
      parsed ??= parseWebhookBody(rawBody, kind, scheme.acceptsArrays);
      return parsed.ok ? parsed.payload : undefined;
    },
  });
}

/** The same body with one byte more, still parseable: JSON gets a space, a form an extra field. */
export function tampered(c: PresetCase, body: string): string {
  if ((c.contentType ?? '').includes('form')) return `${body}&x=1`;
  const end = body.lastIndexOf('}') >= 0 ? body.lastIndexOf('}') : body.lastIndexOf(']');
  return `${body.slice(0, end)} ${body.slice(end)}`;
}
