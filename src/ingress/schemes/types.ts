import type { VerificationSettings } from '../../db/schema.js';

/** Every preset's name, derived from the registry, so adding one is one module plus one line there. */
export type { SchemeName } from './index.js';

/** Lower-cased header names, first value only. */
export type RequestHeaders = Readonly<Record<string, string | undefined>>;

/** How a preset's body may be encoded; JSON unless the preset says otherwise. */
export type BodyKind = 'json' | 'form';

export interface VerificationInput {
  rawBody: Buffer;
  headers: RequestHeaders;
  /**
   * Every key that may verify right now: the current one, and the previous one until it expires.
   * An HMAC secret or a token for most presets, the provider's public key for Ed25519/ECDSA ones.
   */
  secrets: readonly string[];
  settings: VerificationSettings;
  now: Date;
  /** HTTP method, upper case (POST unless told). */
  method?: string;
  /**
   * The URL the provider signed: the integration's configured public URL plus the request's query
   * string. Undefined when the integration has none; presets that sign the URL then refuse.
   */
  url?: string;
  /** The parsed body (a JSON value, or the form's fields as an object), or undefined when it does not parse. */
  payload?: () => unknown;
}

export type VerificationFailure = 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_TOO_NEW';

/** A scheme may name the event's key and type when the provider puts them in headers. */
export type VerificationResult =
  | { ok: true; eventKey?: string; eventType?: string }
  | { ok: false; code: VerificationFailure };

/** The exact answer a provider expects to a handshake; never stored as an event, always audited. */
export interface HandshakeReply {
  /** What it was, for the audit entry: `zoom.url_validation`, `discord.ping`… */
  kind: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ChallengeRequest {
  method: string;
  query: URLSearchParams;
  headers: RequestHeaders;
}

/** What `hookgate send` and the tests post: headers and body, signed as the provider would. */
export interface SignedSample {
  headers: Record<string, string>;
  body: Buffer;
  contentType: string;
}

export interface SampleOptions {
  /** The HMAC secret or token; for public-key presets the PKCS#8 PEM private key. */
  secret: string;
  id: string;
  now: Date;
  settings: VerificationSettings;
  /** The URL the provider would sign (the integration's public URL, query included). */
  url?: string;
}

export interface VerificationScheme {
  name: string;
  /** The header the signature is read from when the integration names none. */
  defaultHeader?: string;
  /** Where this provider puts its event id in the body (a JSON path) when the integration names no path. */
  defaultEventKeyPath?: string;
  /** Where this provider puts its event type in the body (a JSON path) when the integration names no path. */
  defaultEventTypePath?: string;
  /** Body encodings this provider sends; JSON only when absent. */
  bodyKinds?: readonly BodyKind[];
  /** The provider posts a JSON array (a batch of events), not an object. */
  acceptsArrays?: boolean;
  /** The signature covers the URL, so the integration must configure its public URL. */
  signsUrl?: boolean;
  /** The key is a public key (Ed25519, ECDSA): the sample signer takes a private key. */
  publicKey?: 'ed25519' | 'ecdsa-p256';
  /**
   * A challenge answered before the body is read or verified, such as Microsoft Graph's
   * `validationToken` or Okta's GET. Only for echoes that prove and reveal nothing; a reply that
   * needs the secret belongs in `handshake`, after verification, or the endpoint becomes an oracle.
   */
  challenge?(request: ChallengeRequest): HandshakeReply | null;
  /** A verified request that is a handshake rather than an event (Slack, Discord, Zoom, LINE). */
  handshake?(payload: unknown, input: VerificationInput): HandshakeReply | null;
  verify(input: VerificationInput): VerificationResult;
  /** Signs a body the way the provider does (hookgate send, tests). */
  sign(body: Buffer, options: SampleOptions): SignedSample;
}
