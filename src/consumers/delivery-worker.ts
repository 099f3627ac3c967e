import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { attemptResult, type Metrics } from '../metrics.js';
import type { Coordination } from '../ports/coordination.js';
import { createCompletionRecorder } from './delivery-recorder.js';
import { claimDueDeliveries, type AttemptRecord, type ClaimedDelivery, type Completion } from './delivery-store.js';
import type { SendRequest, SendResult } from './http-sender.js';
import { signStandardWebhook } from './outbound-signature.js';
import { decideAfterAttempt, type AttemptOutcome, type RetryPolicy } from './retry-policy.js';
import type { DestinationCheck } from './ssrf-guard.js';
import { DELIVERY_WAKE_CHANNEL, type StatusPublisher } from './status-events.js';

export interface DeliveryWorkerSettings {
  concurrency: number;
  leaseMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
  retry: RetryPolicy;
  /** On stop, how long running attempts may go on before they are cut short (and recorded as ABORTED). */
  stopGraceMs?: number;
}

export interface DeliveryWorkerDeps {
  db: Database;
  coordination: Pick<Coordination, 'subscribe'>;
  status: StatusPublisher;
  log: Logger;
  guard: { check(url: string, timeoutMs?: number): Promise<DestinationCheck> };
  send(request: SendRequest): Promise<SendResult>;
  settings: DeliveryWorkerSettings;
  workerId?: string;
  metrics?: Pick<Metrics, 'deliveryOutcomes' | 'deliveryAttemptSeconds' | 'deliveryRetries'>;
}

const MAX_RESPONSE_BYTES = 4096;

/**
 * Delivery workers: claim due deliveries (one statement returns the work), POST each signed in the
 * Standard Webhooks format, and hand the outcome to the recorder, which writes finished attempts
 * in groups. Woken through the coordination port when new deliveries are persisted; polling is
 * only the fallback. Claims run ahead of the slots by a short queue and records trail behind
 * them, so neither round trip sits between one POST and the next.
 */
export function createDeliveryWorker(deps: DeliveryWorkerDeps) {
  const { db, log, settings } = deps;
  const workerId = deps.workerId ?? `worker-${randomUUID()}`;
  const stopGraceMs = settings.stopGraceMs ?? Math.min(settings.timeoutMs, 10_000);
  /** Attempts running (resolving or POSTing). */
  let active = 0;
  let stopping = false;
  let pumping: Promise<void> | undefined;
  let pumpAgain = false;
  let started = false;
  /** When the claim loop last began a round (the poll timer starts one at least every interval). */
  let lastRound = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  const running = new Set<Promise<void>>();
  // Cuts running POSTs short when a stop outlasts its grace period.
  const abort = new AbortController();
  // Every running POST listens on it: as many listeners as the concurrency.
  setMaxListeners(0, abort.signal);

  // Claimed, not yet started: the next slot that frees starts one at once, without a round trip.
  // At most `concurrency` wait here (so a claim is big enough to cover a round trip under load);
  // each entry holds a lease until it starts.
  const queue: { delivery: ClaimedDelivery; claimedAt: number }[] = [];
  const prefetch = settings.concurrency;
  // A claim that waited this long is handed back instead of started: its lease must outlast its attempt.
  const maxQueuedMs = Math.max(settings.leaseMs - settings.timeoutMs, settings.leaseMs / 2);

  const recorder = createCompletionRecorder({
    db,
    workerId,
    status: deps.status,
    log,
    // Records waiting for the database hold back new claims (see `claimLoop`); once written, claim again.
    onSettled: () => schedulePump(),
  });

  function buildHeaders(delivery: ClaimedDelivery, timestamp: number) {
    // Never a provider secret or the management key: only what the receiver needs to verify and correlate.
    const visible: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Hookgate/0.1 (+webhook delivery)',
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(timestamp),
      'x-hookgate-event-id': delivery.eventId,
      'x-hookgate-delivery-id': delivery.id,
      'x-request-id': randomUUID(),
    };
    const signature = signStandardWebhook(delivery.secret, delivery.eventId, timestamp, delivery.rawBody);
    return { visible, all: { ...visible, 'webhook-signature': signature } };
  }

  function errorRecord(startedAt: Date, durationMs: number, errorClass: string, errorMessage: string, headers: Record<string, string>): AttemptRecord {
    return { startedAt, durationMs, statusCode: null, errorClass, errorMessage, responseBody: null, requestHeaders: headers };
  }

  /** Runs one claimed delivery to an outcome; never records it itself (the recorder does, in groups). */
  async function attempt(delivery: ClaimedDelivery): Promise<void> {
    const fence = { deliveryId: delivery.id, attemptNumber: delivery.attemptNumber };
    if (!delivery.destinationEnabled) {
      recorder.complete(delivery, { ...fence, attempt: null, status: 'CANCELLED', retryInMs: null, lastError: 'destination disabled' });
      deps.metrics?.deliveryOutcomes.inc({ outcome: 'CANCELLED' });
      return;
    }

    const startedAt = new Date();
    const started = performance.now();
    // One deadline for the whole attempt: resolution, connection, request and response.
    const remaining = () => Math.max(0, settings.timeoutMs - (performance.now() - started));
    const headers = buildHeaders(delivery, Math.floor(startedAt.getTime() / 1000));
    // Checked at every send, not only at creation: DNS may have changed since (answers are cached briefly).
    const target = await deps.guard.check(delivery.url, settings.timeoutMs);
    if (stopping) {
      // Nothing was sent yet: hand it back now rather than after the lease.
      recorder.release(delivery);
      return;
    }
    let outcome: AttemptOutcome;
    let record: AttemptRecord;
    const elapsed = () => Math.round(performance.now() - started);
    if (!target.ok && target.kind === 'forbidden') {
      outcome = { kind: 'error', errorClass: 'SSRF_REFUSED' };
      record = errorRecord(startedAt, elapsed(), 'SSRF_REFUSED', target.reason, headers.visible);
    } else if (!target.ok) {
      // Not resolvable (now): a network failure like any other, retried on the schedule.
      const errorClass = target.timedOut ? 'TIMEOUT' : 'DNS';
      outcome = { kind: 'error', errorClass };
      record = errorRecord(startedAt, elapsed(), errorClass, target.reason, headers.visible);
    } else {
      const result = await deps.send({
        url: target.url,
        address: target.address,
        family: target.family,
        headers: headers.all,
        body: delivery.rawBody,
        timeoutMs: remaining(),
        maxResponseBytes: MAX_RESPONSE_BYTES,
        signal: abort.signal,
      });
      if (result.kind === 'response') {
        outcome = { kind: 'response', statusCode: result.statusCode, retryAfter: result.headers['retry-after'] };
        record = { startedAt, durationMs: elapsed(), statusCode: result.statusCode, errorClass: null, errorMessage: null, responseBody: result.body, requestHeaders: headers.visible };
      } else {
        outcome = { kind: 'error', errorClass: result.errorClass };
        record = errorRecord(startedAt, elapsed(), result.errorClass, result.message, headers.visible);
      }
    }

    // A manual retry is exactly one attempt; dispatches and replays follow the schedule.
    const policy = delivery.trigger === 'RETRY' ? { ...settings.retry, scheduleMs: [] } : settings.retry;
    const decision = decideAfterAttempt(outcome, delivery.attemptNumber, policy);
    const completion: Completion = {
      ...fence,
      attempt: record,
      status: decision.status,
      retryInMs: decision.status === 'RETRYING' ? decision.delayMs : null,
      lastError: decision.status === 'SUCCEEDED' ? null : decision.status === 'FAILED' ? decision.reason : (record.errorClass ?? `HTTP ${record.statusCode}`),
    };
    recorder.complete(delivery, completion, decision.status === 'FAILED' && decision.disableDestination ? decision.reason : undefined);
    deps.metrics?.deliveryOutcomes.inc({ outcome: decision.status });
    if (decision.status === 'RETRYING') deps.metrics?.deliveryRetries.inc();
    deps.metrics?.deliveryAttemptSeconds.observe({ destination: delivery.destinationId, result: attemptResult(record) }, record.durationMs / 1000);
  }

  function startAttempt(delivery: ClaimedDelivery): void {
    active += 1;
    const task = attempt(delivery)
      .catch((error: unknown) => {
        // Unexpected: hand the claim back so it is sent again now, not after the lease.
        log.error({ deliveryId: delivery.id, err: error }, 'delivery attempt failed unexpectedly');
        recorder.release(delivery);
      })
      .finally(() => {
        running.delete(task);
        // The slot is free once the outcome is handed to the recorder; the record itself is
        // written in a group, and until it commits the delivery stays IN_FLIGHT under its lease.
        active -= 1;
        startQueued();
        schedulePump();
      });
    running.add(task);
  }

  function startQueued(): void {
    while (!stopping && active < settings.concurrency && queue.length > 0) {
      const { delivery, claimedAt } = queue.shift()!;
      if (Date.now() - claimedAt > maxQueuedMs) recorder.release(delivery);
      else startAttempt(delivery);
    }
  }

  async function claimLoop(): Promise<void> {
    do {
      lastRound = Date.now();
      pumpAgain = false;
      // Backpressure: while the database is behind with records, claim nothing more.
      if (stopping || recorder.waiting() >= settings.concurrency) break;
      const wanted = settings.concurrency + prefetch - active - queue.length;
      // Claim in batches (half the concurrency at least) while there is work in hand to go on with;
      // the cost of a claim is mostly its round trip, so fewer, larger claims go further.
      if (wanted <= 0 || (wanted < Math.ceil(settings.concurrency / 2) && queue.length > 0)) break;
      const claimed = await claimDueDeliveries(db, workerId, wanted, settings.leaseMs);
      // Nothing due: done, unless a wake-up arrived meanwhile (rows committed after this claim's
      // snapshot), which `continue` honours by checking pumpAgain again.
      if (claimed.length === 0) continue;
      if (stopping) {
        // The claim returned after stop began: none of these has started; release them all at once.
        for (const delivery of claimed) recorder.release(delivery);
        break;
      }
      void deps.status.deliveryStatuses(
        claimed.map((delivery) => ({
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          integrationId: delivery.integrationId,
          destinationId: delivery.destinationId,
          previousStatus: delivery.previousStatus,
          status: 'IN_FLIGHT',
        })),
      );
      const claimedAt = Date.now();
      for (const delivery of claimed) queue.push({ delivery, claimedAt });
      startQueued();
      if (claimed.length === wanted) pumpAgain = true;
    } while (pumpAgain);
  }

  function schedulePump(): void {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = claimLoop()
      .catch((error: unknown) => log.error({ err: (error as Error).message }, 'claiming deliveries failed; will retry'))
      .finally(() => (pumping = undefined));
  }

  return {
    workerId,
    async start() {
      unsubscribe = await deps.coordination.subscribe(DELIVERY_WAKE_CHANNEL, schedulePump).catch((error: Error) => {
        log.warn({ err: error.message }, 'no wake-ups from the coordination port; polling only');
        return undefined;
      });
      pollTimer = setInterval(schedulePump, settings.pollIntervalMs);
      started = true;
      schedulePump();
    },
    /**
     * The loop is alive: started, not stopping, and a claim round began recently (a claim that
     * hangs, e.g. on a database that stopped answering, holds the next round back).
     */
    alive: () => started && !stopping && Date.now() - lastRound < Math.max(3 * settings.pollIntervalMs, 10_000),
    /**
     * Stop claiming; wait for a claim in progress (what it returns is released, unsent); let
     * running attempts finish within the grace period, then cut them short (recorded as ABORTED,
     * retried later); record everything; release claims that never started. Nothing is left
     * IN_FLIGHT to wait for its lease, unless the database itself is gone.
     */
    async stop() {
      stopping = true;
      clearInterval(pollTimer);
      await unsubscribe?.().catch(() => {});
      await pumping;
      // Claimed but never started: back to the database at once, for any worker to take now.
      for (const { delivery } of queue.splice(0)) recorder.release(delivery);
      const started = running.size;
      const grace = setTimeout(() => {
        log.warn({ running: running.size, graceMs: stopGraceMs }, 'attempts still running at the end of the stop grace period; cutting them short');
        abort.abort();
      }, stopGraceMs);
      await Promise.allSettled([...running]);
      clearTimeout(grace);
      const { recorded, released } = await recorder.drain();
      log.info({ workerId, runningAtStop: started, recorded, released }, 'delivery worker stopped');
    },
  };
}
