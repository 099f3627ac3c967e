import { eventIdFor } from '../ids.js';
import type { Logger } from '../log.js';
import { createOutageLog } from '../outage-log.js';
import type { Metrics } from '../metrics.js';
import type { Coordination } from '../ports/coordination.js';
import type { EventLogProducer } from '../ports/event-log.js';
import type { ErrorCode } from './errors.js';
import { MAX_JSON_DEPTH, scanJson } from '../json/scan-json.js';
import { bodyHashKey, MAX_EVENT_KEY_LENGTH, readJsonPath } from './event-key.js';
import { activeSecrets, type IntegrationDirectory } from './integration-directory.js';
import { schemeFor } from './schemes/index.js';
import type { RequestHeaders } from './schemes/types.js';

/**
 * Decides what happens to one webhook, without knowing about HTTP (STYLE.md §3).
 * Cheap rejections come first (DESIGN.md §2): route, size and type, then the signature on the
 * raw bytes, then parsing, then the produce that a 202 depends on.
 */

export type BodyReadResult = { ok: true; body: Buffer } | { ok: false; reason: 'TOO_LARGE' | 'TIMEOUT' | 'ABORTED' };

export interface WebhookRequest {
  provider: string;
  requestId: string;
  sourceIp: string | null;
  headers: RequestHeaders;
  /** Reads the body, stopping as soon as it passes `maxBytes`. */
  readBody(maxBytes: number): Promise<BodyReadResult>;
}

export type WebhookOutcome =
  | { kind: 'accepted'; eventId: string }
  | { kind: 'rejected'; code: ErrorCode; message: string; retryAfterSeconds?: number };

export interface WebhookHandlerDeps {
  integrations: IntegrationDirectory;
  producer: EventLogProducer;
  /** Shared per-(provider, source address) buckets; see Coordination.consumeRateLimit. */
  rateLimiter: Pick<Coordination, 'consumeRateLimit'>;
  metrics: Pick<Metrics, 'ingressRequests' | 'ingressRateLimited' | 'ingressProduceSeconds' | 'ingressBodyBytes'>;
  log: Logger;
  maxBodyBytes: number;
  /** Applies to integrations that set no limit of their own. */
  defaultRateLimitPerMinute: number;
  now?: () => Date;
}

const JSON_CONTENT_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;
// Never stored: credentials, signatures and transport details.
const UNSTORED_HEADER = /^(host|connection|content-length|transfer-encoding|cookie|authorization|proxy-authorization|x-internal-api-key|x-forwarded-.*)$|signature|token|secret|hmac|api-key|apikey/i;

function reject(code: ErrorCode, message: string, retryAfterSeconds?: number): WebhookOutcome {
  return retryAfterSeconds === undefined
    ? { kind: 'rejected', code, message }
    : { kind: 'rejected', code, message, retryAfterSeconds };
}

/**
 * The headers stored with an event. Beyond the built-in list, the header the integration
 * authenticates with is dropped whatever its name (`x-globex-key` holds a token though no word
 * says so), and so is any header whose value carries one of the integration's secrets.
 */
export function storedHeaders(
  headers: RequestHeaders,
  credentials: { headers?: readonly string[]; secrets?: readonly string[] } = {},
): Record<string, string> {
  const authHeaders = new Set((credentials.headers ?? []).map((name) => name.toLowerCase()));
  const secrets = (credentials.secrets ?? []).filter((secret) => secret.length > 0);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || UNSTORED_HEADER.test(name) || authHeaders.has(name.toLowerCase())) continue;
    if (secrets.some((secret) => value.includes(secret))) continue;
    kept[name] = value;
  }
  return kept;
}

export function createWebhookHandler(deps: WebhookHandlerDeps) {
  const now = deps.now ?? (() => new Date());
  // One line per change of state, with a count when it ends, not one per webhook.
  const rateLimiterOutage = createOutageLog(deps.log, 'rate limiter', { consequence: 'requests are allowed without a limit' });
  const publishOutage = createOutageLog(deps.log, 'event log', { consequence: 'webhooks are answered 503' });

  async function decide(request: WebhookRequest): Promise<WebhookOutcome> {
    // From memory: an unknown provider costs no database work and leaves nothing behind.
    const integration = await deps.integrations.find(request.provider);
    if (!integration || !integration.enabled) {
      return reject('NOT_FOUND', `no enabled integration for provider "${request.provider}"`);
    }
    const scheme = schemeFor(integration.scheme);
    if (!scheme) {
      deps.log.error({ provider: request.provider, scheme: integration.scheme }, 'integration uses an unsupported scheme');
      return reject('SERVICE_UNAVAILABLE', 'this integration cannot verify webhooks right now', 60);
    }

    // Rate limit before reading the body: an over-limit sender costs one Redis round trip, no more.
    const limit = integration.rateLimitPerMinute ?? deps.defaultRateLimitPerMinute;
    const decision = await deps.rateLimiter.consumeRateLimit(`${integration.provider}:${request.sourceIp ?? 'unknown'}`, limit, 60_000).then(
      (answer) => {
        rateLimiterOutage.succeeded();
        return answer;
      },
      (error: Error) => {
        // Fail open: losing the shared counters must not turn away providers' webhooks.
        rateLimiterOutage.failed(error, { provider: integration.provider });
        return { allowed: true, retryAfterMs: 0 };
      },
    );
    if (!decision.allowed) {
      return reject('RATE_LIMITED', `more than ${limit} requests per minute from this address`, Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
    }

    const contentType = request.headers['content-type'] ?? '';
    if (!JSON_CONTENT_TYPE.test(contentType)) {
      return reject('UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json');
    }
    const declaredLength = Number(request.headers['content-length'] ?? '0');
    if (declaredLength > deps.maxBodyBytes) {
      return reject('PAYLOAD_TOO_LARGE', `body exceeds ${deps.maxBodyBytes} bytes`);
    }
    const read = await request.readBody(deps.maxBodyBytes);
    if (!read.ok) {
      if (read.reason === 'TOO_LARGE') return reject('PAYLOAD_TOO_LARGE', `body exceeds ${deps.maxBodyBytes} bytes`);
      return reject('REQUEST_TIMEOUT', 'the request body was not received in time');
    }
    const rawBody = read.body;

    const receivedAt = now();
    const secrets = activeSecrets(integration, receivedAt);
    const verified = scheme.verify({
      rawBody,
      headers: request.headers,
      secrets,
      settings: integration.settings,
      now: receivedAt,
    });
    if (!verified.ok) return reject(verified.code, verificationMessage(verified.code));

    // Before JSON.parse, which recurses: a deep body costs one flat pass over its bytes, no more.
    if (scanJson(rawBody, MAX_JSON_DEPTH).depth > MAX_JSON_DEPTH) {
      return reject('VALIDATION_ERROR', `body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      return reject('VALIDATION_ERROR', 'body is not valid JSON');
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return reject('VALIDATION_ERROR', 'body must be a JSON object');
    }

    const settings = integration.settings;
    // DESIGN.md §2 step 6: the scheme's id, else the configured (or provider's usual) JSON path, else the body's hash.
    const keyPath = settings.eventKeyPath ?? scheme.defaultEventKeyPath;
    const eventKey = verified.eventKey ?? (keyPath ? readJsonPath(payload, keyPath) : undefined) ?? bodyHashKey(rawBody);
    if (eventKey.length > MAX_EVENT_KEY_LENGTH) {
      return reject('VALIDATION_ERROR', `event key is longer than ${MAX_EVENT_KEY_LENGTH} characters`);
    }
    const eventType =
      verified.eventType ?? readJsonPath(payload, settings.eventTypePath ?? scheme.defaultEventTypePath ?? '$.type') ?? null;
    const orderingKey = settings.orderingKeyPath ? (readJsonPath(payload, settings.orderingKeyPath) ?? null) : null;
    // Keys become text columns and Kafka headers: a NUL or a lone surrogate read out of the body cannot be one.
    for (const [field, value] of [['event key', eventKey], ['event type', eventType], ['ordering key', orderingKey]] as const) {
      if (value !== null && !storableText(value)) return reject('VALIDATION_ERROR', `${field} contains a NUL or an unpaired surrogate`);
    }
    const eventId = eventIdFor(integration.id, eventKey);

    const producing = deps.metrics.ingressProduceSeconds.startTimer();
    try {
      await deps.producer.publish({
        eventId,
        integrationId: integration.id,
        provider: integration.provider,
        eventKey,
        eventType,
        orderingKey,
        receivedAt,
        sourceIp: request.sourceIp,
        headers: storedHeaders(request.headers, {
          headers: [settings.header, scheme.defaultHeader].filter((name): name is string => Boolean(name)),
          secrets,
        }),
        rawBody,
      });
      publishOutage.succeeded();
      producing();
      deps.metrics.ingressBodyBytes.observe({ provider: integration.provider }, rawBody.length);
    } catch (error) {
      // Never a 2xx for an event the log did not acknowledge: the provider must send it again.
      publishOutage.failed(error, { provider: request.provider, requestId: request.requestId });
      return reject('SERVICE_UNAVAILABLE', 'the event could not be stored; retry later', 5);
    }
    return { kind: 'accepted', eventId };
  }

  return async function handleWebhook(request: WebhookRequest): Promise<WebhookOutcome> {
    const outcome = await decide(request);
    // An unknown name is the sender's choice: as a label it would grow one series per name.
    const provider = outcome.kind === 'rejected' && outcome.code === 'NOT_FOUND' ? '(unknown)' : request.provider;
    deps.metrics.ingressRequests.inc({ provider, outcome: outcome.kind === 'accepted' ? 'accepted' : outcome.code });
    if (outcome.kind === 'rejected' && outcome.code === 'RATE_LIMITED') deps.metrics.ingressRateLimited.inc({ provider });
    return outcome;
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function storableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

function verificationMessage(code: 'SIGNATURE_MISSING' | 'SIGNATURE_INVALID' | 'TIMESTAMP_TOO_OLD' | 'TIMESTAMP_TOO_NEW'): string {
  switch (code) {
    case 'SIGNATURE_MISSING':
      return 'the signature header is missing';
    case 'SIGNATURE_INVALID':
      return 'the signature does not match the body';
    case 'TIMESTAMP_TOO_OLD':
      return 'the signed timestamp is older than the allowed tolerance';
    case 'TIMESTAMP_TOO_NEW':
      return 'the signed timestamp is further in the future than the allowed tolerance';
  }
}

export type WebhookHandler = ReturnType<typeof createWebhookHandler>;
