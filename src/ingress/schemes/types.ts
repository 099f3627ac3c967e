import type { VerificationSettings } from '../../db/schema.js';

export type SchemeName =
  | 'HMAC_SHA256'
  | 'SHARED_TOKEN'
  | 'STRIPE'
  | 'GITHUB'
  | 'SHOPIFY'
  | 'SLACK'
  | 'STANDARD_WEBHOOKS';

/** Lower-cased header names, first value only. */
export type RequestHeaders = Readonly<Record<string, string | undefined>>;

export interface VerificationInput {
  rawBody: Buffer;
  headers: RequestHeaders;
  /** Every secret that may sign right now: the current one, and the previous one until it expires. */
  secrets: readonly string[];
  settings: VerificationSettings;
  now: Date;
}

export type VerificationFailure = 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_TOO_NEW';

/** A scheme may name the event's key and type when the provider puts them in headers. */
export type VerificationResult =
  | { ok: true; eventKey?: string; eventType?: string }
  | { ok: false; code: VerificationFailure };

export interface VerificationScheme {
  name: SchemeName;
  /** The header the signature is read from when the integration names none. */
  defaultHeader?: string;
  /** Where this provider puts its event id in the body (a JSON path) when the integration names no path. */
  defaultEventKeyPath?: string;
  /** Where this provider puts its event type in the body (a JSON path) when the integration names no path. */
  defaultEventTypePath?: string;
  verify(input: VerificationInput): VerificationResult;
}
