import { eventIdFor } from '../ids.js';
import type { Logger } from '../log.js';
import { createOutageLog } from '../outage-log.js';
import { labelled, type Metrics } from '../metrics.js';
import type { RateLimitDecision } from '../ports/coordination.js';
import type { EventLogProducer } from '../ports/event-log.js';
import type { ErrorCode } from './errors.js';
import { bodyHashKey, keyFieldProblem, readJsonPath } from './event-key.js';
import { activeSecrets, type IntegrationDirectory } from './integration-directory.js';
import { bodyKindOf, bodyTextIsExact, mediaTypeMessage, parseWebhookBody, type ParsedBody } from './parse-body.js';
import { schemeFor } from './schemes/index.js';
import type { HandshakeReply, RequestHeaders, VerificationInput } from './schemes/types.js';

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
  /** POST unless told; GET reaches the handler only for presets with a GET challenge (Okta). */
  method?: string;
  /** The query string, without `?`: part of what URL-signing providers sign, and Graph's validationToken. */
  query?: string;
  /** Reads the body, stopping as soon as it passes `maxBytes`. */
  readBody(maxBytes: number): Promise<BodyReadResult>;
}

export type WebhookOutcome =
  | { kind: 'accepted'; eventId: string }
  /** A provider's handshake, answered exactly as it expects: audited, never stored as an event. */
  | { kind: 'handshake'; reply: HandshakeReply }
  | { kind: 'rejected'; code: ErrorCode; message: string; retryAfterSeconds?: number };

export interface WebhookHandlerDeps {
  integrations: IntegrationDirectory;
  producer: EventLogProducer;
  /** Shared per-(provider, source address) buckets (ingress/leased-rate-limiter.ts); rejects when they cannot be reached. */
  rateLimiter: { consume(key: string, limit: number, periodMs: number): Promise<RateLimitDecision> };
  metrics: Pick<Metrics, 'ingressRequests' | 'ingressRateLimited' | 'ingressProduceSeconds' | 'ingressBodyBytes'>;
  log: Logger;
  maxBodyBytes: number;
  /** Applies to integrations that set no limit of their own. */
  defaultRateLimitPerMinute: number;
  /** Writes the audit entry of an answered handshake; a handshake is answered only once it is recorded. */
  recordHandshake?: (entry: HandshakeAudit) => Promise<void>;
  now?: () => Date;
}

export interface HandshakeAudit {
  integrationId: string;
  provider: string;
  kind: string;
  requestId: string;
  sourceIp: string | null;
}
// Never stored: credentials, signatures and transport details.
const UNSTORED_HEADER = /^(host|connection|content-length|transfer-encoding|cookie|authorization|proxy-authorization|x-internal-api-key|x-forwarded-.*)$|signature|token|secret|hmac|api-key|apikey/i;

function reject(code: ErrorCode, message: string, retryAfterSeconds?: number): WebhookOutcome {
  return retryAfterSeconds === undefined
    ? { kind: 'rejected', code, message }
    : { kind: 'rejected', code, message, retryAfterSeconds };
}

/** Header names seen before, and whether they are stored (a bounded memo: names are the sender's to choose). */
const unstoredNames = new Map<string, boolean>();
function isUnstoredName(name: string): boolean {
  let unstored = unstoredNames.get(name);
  if (unstored === undefined) {
    unstored = UNSTORED_HEADER.test(name);
    if (unstoredNames.size < 1000) unstoredNames.set(name, unstored);
  }
  return unstored;
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
  // One or two names: a list, not a set built per request.
  const authHeaders = (credentials.headers ?? []).map((name) => name.toLowerCase());
  const secrets = (credentials.secrets ?? []).filter((secret) => secret.length > 0);
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || isUnstoredName(name) || (authHeaders.length > 0 && authHeaders.includes(name.toLowerCase()))) continue;
    if (secrets.some((secret) => value.includes(secret))) continue;
    kept[name] = value;
  }
  return kept;
}

export function createWebhookHandler(deps: WebhookHandlerDeps) {
  const now = deps.now ?? (() => new Date());
  const requests = labelled(deps.metrics.ingressRequests);
  const rateLimited = labelled(deps.metrics.ingressRateLimited);
  const bodyBytes = labelled(deps.metrics.ingressBodyBytes);
  // One line per change of state, with a count when it ends, not one per webhook.
  const rateLimiterOutage = createOutageLog(deps.log, 'rate limiter', { consequence: 'requests are allowed without a limit' });
  const publishOutage = createOutageLog(deps.log, 'event log', { consequence: 'webhooks are answered 503' });

  async function answerHandshake(integration: { id: string; provider: string }, request: WebhookRequest, reply: HandshakeReply): Promise<WebhookOutcome> {
    try {
      await deps.recordHandshake?.({ integrationId: integration.id, provider: integration.provider, kind: reply.kind, requestId: request.requestId, sourceIp: request.sourceIp });
    } catch (error) {
      // Unrecorded means unanswered: the provider asks again, as it does for any failed check.
      deps.log.warn({ provider: integration.provider, handshake: reply.kind, err: (error as Error).message }, 'could not record a handshake');
      return reject('SERVICE_UNAVAILABLE', 'the handshake could not be recorded; retry later', 5);
    }
    return { kind: 'handshake', reply };
  }

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

    // Rate limit before reading the body: an over-limit sender costs no more than a map lookup.
    const limit = integration.rateLimitPerMinute ?? deps.defaultRateLimitPerMinute;
    const decision = await deps.rateLimiter.consume(`${integration.provider}:${request.sourceIp ?? 'unknown'}`, limit, 60_000).then(
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

    const method = request.method ?? 'POST';
    // Echo challenges (Graph's validationToken, Okta's GET) prove and reveal nothing: answered
    // before the body is read, as the providers send them without a signature.
    const challenge = scheme.challenge?.({ method, query: new URLSearchParams(request.query ?? ''), headers: request.headers });
    if (challenge) return answerHandshake(integration, request, challenge);
    if (method !== 'POST') return reject('METHOD_NOT_ALLOWED', 'use POST');

    const kind = bodyKindOf(request.headers['content-type'] ?? '', scheme.bodyKinds);
    if (!kind) return reject('UNSUPPORTED_MEDIA_TYPE', mediaTypeMessage(scheme.bodyKinds));
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
    // Parsed at most once: only presets that sign inside the body (Mailgun, Graph) need it before the check.
    let parsed: ParsedBody | undefined;
    const parse = () => (parsed ??= parseWebhookBody(rawBody, kind, scheme.acceptsArrays));
    const publicUrl = integration.settings.publicUrl;
    const input: VerificationInput = {
      rawBody,
      headers: request.headers,
      secrets,
      settings: integration.settings,
      now: receivedAt,
      method,
      // A public URL configured with its query is taken as the whole signed URL; otherwise the request's query is added.
      ...(publicUrl ? { url: request.query && !publicUrl.includes('?') ? `${publicUrl}?${request.query}` : publicUrl } : {}),
      payload: () => {
        const body = parse();
        return body.ok ? body.payload : undefined;
      },
    };
    const verified = scheme.verify(input);
    if (!verified.ok) return reject(verified.code, verificationMessage(verified.code));

    const body = parse();
    if (!body.ok) return reject('VALIDATION_ERROR', body.message);
    const payload = body.payload;
    const handshake = scheme.handshake?.(payload, input);
    if (handshake) return answerHandshake(integration, request, handshake);

    const settings = integration.settings;
    // DESIGN.md §2 step 6: the scheme's id, else the configured (or provider's usual) JSON path, else the body's hash.
    const keyPath = settings.eventKeyPath ?? scheme.defaultEventKeyPath;
    const keyRead = verified.eventKey ?? (keyPath ? readJsonPath(payload, keyPath) : undefined) ?? bodyHashKey(rawBody);
    const typeRead = verified.eventType ?? readJsonPath(payload, settings.eventTypePath ?? scheme.defaultEventTypePath ?? '$.type') ?? null;
    const orderingRead = settings.orderingKeyPath ? (readJsonPath(payload, settings.orderingKeyPath) ?? null) : null;
    // Refused here, before the 202, whatever storage or the event's identity could not take.
    const exactText = () => bodyTextIsExact(rawBody, kind);
    for (const [field, value] of [['event key', keyRead], ['event type', typeRead], ['ordering key', orderingRead]] as const) {
      const problem = value === null ? null : keyFieldProblem(value, field === 'event key' ? exactText : null);
      if (problem) return reject('VALIDATION_ERROR', `${field} ${problem}`);
    }
    const eventKey = String(keyRead);
    const eventType = typeRead === null ? null : String(typeRead);
    const orderingKey = orderingRead === null ? null : String(orderingRead);
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
      bodyBytes(integration.provider).observe(rawBody.length);
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
    requests(provider, outcome.kind === 'rejected' ? outcome.code : outcome.kind).inc();
    if (outcome.kind === 'rejected' && outcome.code === 'RATE_LIMITED') rateLimited(provider).inc();
    return outcome;
  };
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
