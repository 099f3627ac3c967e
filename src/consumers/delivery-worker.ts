import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { attemptResult, type Metrics } from '../metrics.js';
import type { Coordination } from '../ports/coordination.js';
import { createCompletionRecorder, type RecorderDeps } from './delivery-recorder.js';
import { claimDueDeliveries, type AttemptRecord, type ClaimedDelivery, type Completion } from './delivery-store.js';
import { createDestinationGate, signalOf } from './destination-gate.js';
import { createHeldDeliveries } from './held-deliveries.js';
import { claimDueProbes } from './probe-claim.js';
import { disableLongParked, type HealthChange } from './destination-health.js';
import type { SendRequest, SendResult } from './http-sender.js';
import { outboundHeaders } from './outbound-headers.js';
import { decideAfterAttempt, parseRetryAfter, type AttemptOutcome, type RetryPolicy } from './retry-policy.js';
import type { DestinationCheck } from './ssrf-guard.js';
import { DELIVERY_WAKE_CHANNEL, DESTINATION_HEALTH_CHANNEL, type StatusPublisher } from './status-events.js';

export interface DeliveryWorkerSettings {
  concurrency: number;
  leaseMs: number;
  timeoutMs: number;
  pollIntervalMs: number;
  retry: RetryPolicy;
  /** On stop, how long running attempts may go on before they are cut short (and recorded as ABORTED). */
  stopGraceMs?: number;
  /** Probes of parked destinations: the first after `baseMs`, doubling up to `maxMs`. */
  probe?: { baseMs: number; maxMs: number };
}

const DEFAULT_PROBE = { baseMs: 5_000, maxMs: 300_000 };

export interface DeliveryWorkerDeps {
  db: Database;
  coordination: Pick<Coordination, 'subscribe' | 'acquirePermit' | 'releasePermit' | 'consumeRateLimit'>;
  status: StatusPublisher;
  /** Told of every park, unpark, failed probe and disable this worker causes (operator notifications). */
  onHealthChange?: (changes: HealthChange[]) => void;
  /** Told of deliveries dead after their last attempt (operator notifications). */
  onDead?: RecorderDeps['onDead'];
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

  const probe = settings.probe ?? DEFAULT_PROBE;
  const gate = createDestinationGate({ coordination: deps.coordination, workerConcurrency: settings.concurrency, permitTtlMs: settings.leaseMs });
  const healthChanged = (changes: HealthChange[]) => {
    if (changes.length === 0) return;
    for (const change of changes) {
      if (change.change === 'UNPARKED') gate.rampFromOne(change.destinationId);
      log.info({ destinationId: change.destinationId, change: change.change, reason: change.reason }, 'destination health changed');
    }
    void deps.status.destinationHealth(changes);
    deps.onHealthChange?.(changes);
  };
  const recorder = createCompletionRecorder({
    db,
    workerId,
    status: deps.status,
    log,
    firstProbeInMs: probe.baseMs,
    onHealthChange: healthChanged,
    ...(deps.onDead ? { onDead: deps.onDead } : {}),
    // Records waiting for the database hold back new claims (see `claimLoop`); once written, claim again.
    onSettled: () => schedulePump(),
  });
  /**
   * Claimed deliveries the gate did not admit yet (throttled, or at the destination's window), per
   * destination in claim order. They are unsent (no attempt spent) and their destinations are left
   * out of claims until the list empties.
   */
  const held = createHeldDeliveries({
    hasRoom: (destinationId) => !stopping && active < settings.concurrency && gate.hasRoom(destinationId),
    maxQueuedMs,
    start: (delivery, claimedAt) => startAttempt(delivery, claimedAt),
    release: (delivery) => recorder.release(delivery),
  });
  let probeTimer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | undefined;
  let probeTicks = 0;

  function errorRecord(startedAt: Date, durationMs: number, errorClass: string, errorMessage: string, headers: Record<string, string>): AttemptRecord {
    return { startedAt, durationMs, statusCode: null, errorClass, errorMessage, responseBody: null, requestHeaders: headers };
  }

  /**
   * Runs one claimed delivery to an outcome; never records it itself (the recorder does, in groups).
   * Returns what the outcome says about the destination's load, for the adaptive window.
   */
  async function attempt(delivery: ClaimedDelivery): Promise<ReturnType<typeof signalOf> | undefined> {
    const fence = { deliveryId: delivery.id, attemptNumber: delivery.attemptNumber };
    if (!delivery.destinationEnabled) {
      recorder.complete(delivery, { ...fence, attempt: null, status: 'CANCELLED', retryInMs: null, lastError: 'destination disabled' });
      deps.metrics?.deliveryOutcomes.inc({ outcome: 'CANCELLED' });
      return undefined;
    }

    const startedAt = new Date();
    const started = performance.now();
    // One deadline for the whole attempt: resolution, connection, request and response.
    const remaining = () => Math.max(0, settings.timeoutMs - (performance.now() - started));
    const headers = outboundHeaders(delivery, Math.floor(startedAt.getTime() / 1000));
    // Checked at every send, not only at creation: DNS may have changed since (answers are cached briefly).
    const target = await deps.guard.check(delivery.url, settings.timeoutMs);
    if (stopping) {
      // Nothing was sent yet: hand it back now rather than after the lease.
      recorder.release(delivery);
      return undefined;
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
    let decision = decideAfterAttempt(outcome, delivery.attemptNumber, policy);
    if (delivery.probe && decision.status === 'FAILED' && decision.reason.startsWith('gave up')) {
      // A probe spends no retry: its delivery waits with the rest of the parked backlog.
      decision = { status: 'RETRYING', delayMs: 0 };
    }
    const completion: Completion = {
      ...fence,
      attempt: record,
      status: decision.status,
      retryInMs: decision.status === 'RETRYING' ? decision.delayMs : null,
      lastError: decision.status === 'SUCCEEDED' ? null : decision.status === 'FAILED' ? decision.reason : (record.errorClass ?? `HTTP ${record.statusCode}`),
    };
    const retryAfter = outcome.kind === 'response' && (outcome.statusCode === 429 || outcome.statusCode === 503) ? parseRetryAfter(outcome.retryAfter) : undefined;
    recorder.complete(delivery, completion, {
      disableReason: decision.status === 'FAILED' && decision.disableDestination ? decision.reason : undefined,
      // A stopping worker's cut-short attempt says nothing about the destination.
      counts: record.errorClass !== 'ABORTED' && record.errorClass !== 'SSRF_REFUSED',
      ok: decision.status === 'SUCCEEDED',
      // Retry-After pauses the whole destination, for every worker (capped like a delivery's own).
      pauseMs: retryAfter === undefined ? 0 : Math.min(retryAfter, settings.retry.retryAfterCapMs),
    });
    deps.metrics?.deliveryOutcomes.inc({ outcome: decision.status });
    if (decision.status === 'RETRYING') deps.metrics?.deliveryRetries.inc();
    deps.metrics?.deliveryAttemptSeconds.observe({ destination: delivery.destinationId, result: attemptResult(record) }, record.durationMs / 1000);
    return signalOf(record);
  }

  /** Admits (or holds back) and runs one delivery; probes skip the gate: one per parked destination. */
  async function admitAndAttempt(delivery: ClaimedDelivery, claimedAt: number): Promise<void> {
    if (delivery.probe || !delivery.destinationEnabled) {
      await attempt(delivery);
      return;
    }
    const admission = await gate.admit(delivery);
    if (!admission.admitted) {
      held.holdBack(delivery, claimedAt, admission.retryInMs, true);
      return;
    }
    const startedAt = Date.now();
    let signal: ReturnType<typeof signalOf> = 'neutral';
    try {
      signal = (await attempt(delivery)) ?? 'neutral';
    } finally {
      await gate.release(delivery, signal, startedAt).catch((error: Error) => log.warn({ err: error.message }, 'could not release a destination permit; it expires with the lease'));
    }
  }

  function startAttempt(delivery: ClaimedDelivery, claimedAt = Date.now()): void {
    active += 1;
    const task = admitAndAttempt(delivery, claimedAt)
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
        held.startReady();
        startQueued();
        schedulePump();
      });
    running.add(task);
  }

  function startQueued(): void {
    while (!stopping && active < settings.concurrency && queue.length > 0) {
      const { delivery, claimedAt } = queue.shift()!;
      if (Date.now() - claimedAt > maxQueuedMs) recorder.release(delivery);
      // Behind deliveries of its destination already held back: wait in order behind them.
      // A full window too (checked before the gate is asked, so the order is kept).
      else if (!delivery.probe && (held.has(delivery.destinationId) || !gate.hasRoom(delivery.destinationId))) held.holdBack(delivery, claimedAt, 0, false);
      else startAttempt(delivery, claimedAt);
    }
  }

  /** Destinations this worker cannot start more for now: left out of its claims. */
  function saturated(): string[] {
    return held.destinations();
  }

  /** Probes of parked destinations, and the disabling of those parked too long. */
  async function probeTick(): Promise<void> {
    probeTicks += 1;
    const probes = await claimDueProbes(db, workerId, settings.leaseMs, probe);
    for (const delivery of probes) startAttempt(delivery);
    if (probeTicks % 10 === 1) healthChanged(await disableLongParked(db));
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
      const claimed = await claimDueDeliveries(db, workerId, wanted, settings.leaseMs, saturated());
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
    /** This worker's adaptive concurrency for a destination (undefined until it sent there). */
    concurrencyOf: (destinationId: string) => gate.windowOf(destinationId),
    async start() {
      unsubscribe = await deps.coordination.subscribe(DELIVERY_WAKE_CHANNEL, schedulePump).catch((error: Error) => {
        log.warn({ err: error.message }, 'no wake-ups from the coordination port; polling only');
        return undefined;
      });
      // Another worker's unpark ramps this worker's window for the destination too.
      const unsubscribeHealth = await deps.coordination
        .subscribe(DESTINATION_HEALTH_CHANNEL, (message) => {
          try {
            for (const change of JSON.parse(message) as HealthChange[]) if (change.change === 'UNPARKED') gate.rampFromOne(change.destinationId);
          } catch {
            // Not ours to judge: a malformed notification changes nothing.
          }
        })
        .catch(() => undefined);
      const unsubscribeWake = unsubscribe;
      unsubscribe = async () => {
        await unsubscribeWake?.();
        await unsubscribeHealth?.();
      };
      pollTimer = setInterval(() => {
        held.releaseStale();
        schedulePump();
      }, settings.pollIntervalMs);
      probeTimer = setInterval(() => {
        if (probing || stopping) return;
        probing = probeTick()
          .catch((error: unknown) => log.error({ err: (error as Error).message }, 'probing parked destinations failed; will retry'))
          .finally(() => (probing = undefined));
      }, Math.min(1_000, probe.baseMs));
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
      clearInterval(probeTimer);
      await unsubscribe?.().catch(() => {});
      await pumping;
      await probing;
      // Claimed but never started: back to the database at once, for any worker to take now.
      for (const { delivery } of queue.splice(0)) recorder.release(delivery);
      held.releaseAll();
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
