import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import type { Coordination } from '../ports/coordination.js';
import {
  claimDueDeliveries,
  completeAttempt,
  disableDestination,
  loadDeliveryWork,
  type AttemptRecord,
  type ClaimedDelivery,
  type DeliveryWork,
} from './delivery-store.js';
import type { SendRequest, SendResult } from './http-sender.js';
import { signStandardWebhook } from './outbound-signature.js';
import { decideAfterAttempt, type AttemptOutcome, type RetryPolicy } from './retry-policy.js';
import type { DestinationCheck } from './ssrf-guard.js';
import { DELIVERY_WAKE_CHANNEL, type StatusPublisher } from './status-events.js';

export interface DeliveryWorkerDeps {
  db: Database;
  coordination: Pick<Coordination, 'subscribe'>;
  status: StatusPublisher;
  log: Logger;
  guard: { check(url: string): Promise<DestinationCheck> };
  send(request: SendRequest): Promise<SendResult>;
  settings: { concurrency: number; leaseMs: number; timeoutMs: number; pollIntervalMs: number; retry: RetryPolicy };
  workerId?: string;
}

const MAX_RESPONSE_BYTES = 4096;

/**
 * Delivery workers: claim due deliveries, POST each signed in the Standard Webhooks format, record
 * the attempt, and move the delivery on by the retry policy. Woken through the coordination port
 * when new deliveries are persisted; polling is only the fallback.
 */
export function createDeliveryWorker(deps: DeliveryWorkerDeps) {
  const { db, log, settings } = deps;
  const workerId = deps.workerId ?? `worker-${randomUUID()}`;
  let active = 0;
  let stopping = false;
  let pumping = false;
  let pumpAgain = false;
  let pollTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  const running = new Set<Promise<void>>();

  function buildHeaders(delivery: ClaimedDelivery, work: DeliveryWork, timestamp: number) {
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
    const signature = signStandardWebhook(work.secret, delivery.eventId, timestamp, work.rawBody);
    return { visible, all: { ...visible, 'webhook-signature': signature } };
  }

  async function attempt(delivery: ClaimedDelivery, work: DeliveryWork | undefined): Promise<void> {
    const base = { deliveryId: delivery.id, eventId: delivery.eventId, integrationId: delivery.integrationId, destinationId: delivery.destinationId };
    if (!work || !work.destinationEnabled) {
      if (await completeAttempt(db, workerId, delivery, null, { status: 'CANCELLED', nextAttemptAt: null, lastError: 'destination disabled' })) {
        await deps.status.deliveryStatus({ ...base, previousStatus: 'IN_FLIGHT', status: 'CANCELLED' });
      }
      return;
    }

    const startedAt = new Date();
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    const headers = buildHeaders(delivery, work, timestamp);
    // Checked at every send, not only at creation: DNS may have changed since.
    const target = await deps.guard.check(work.url);
    let outcome: AttemptOutcome;
    let record: AttemptRecord;
    if (!target.ok) {
      outcome = { kind: 'error', errorClass: 'SSRF_REFUSED' };
      record = { startedAt, durationMs: 0, statusCode: null, errorClass: 'SSRF_REFUSED', errorMessage: target.reason, responseBody: null, requestHeaders: headers.visible };
    } else {
      const result = await deps.send({
        url: target.url,
        address: target.address,
        family: target.family,
        headers: headers.all,
        body: work.rawBody,
        timeoutMs: settings.timeoutMs,
        maxResponseBytes: MAX_RESPONSE_BYTES,
      });
      if (result.kind === 'response') {
        outcome = { kind: 'response', statusCode: result.statusCode, retryAfter: result.headers['retry-after'] };
        record = { startedAt, durationMs: result.durationMs, statusCode: result.statusCode, errorClass: null, errorMessage: null, responseBody: result.body, requestHeaders: headers.visible };
      } else {
        outcome = { kind: 'error', errorClass: result.errorClass };
        record = { startedAt, durationMs: result.durationMs, statusCode: null, errorClass: result.errorClass, errorMessage: result.message, responseBody: null, requestHeaders: headers.visible };
      }
    }

    // A manual retry is exactly one attempt; dispatches and replays follow the schedule.
    const policy = delivery.trigger === 'RETRY' ? { ...settings.retry, scheduleMs: [] } : settings.retry;
    const decision = decideAfterAttempt(outcome, delivery.attemptNumber, policy);
    const lastError =
      decision.status === 'SUCCEEDED' ? null : decision.status === 'FAILED' ? decision.reason : (record.errorClass ?? `HTTP ${record.statusCode}`);
    const held = await completeAttempt(db, workerId, delivery, record, {
      status: decision.status,
      nextAttemptAt: decision.status === 'RETRYING' ? new Date(Date.now() + decision.delayMs) : null,
      lastError,
    });
    if (!held) {
      log.warn({ deliveryId: delivery.id }, 'lease lost during the attempt; another worker owns the delivery now');
      return;
    }
    await deps.status.deliveryStatus({ ...base, previousStatus: 'IN_FLIGHT', status: decision.status });
    if (decision.status === 'FAILED' && decision.disableDestination) {
      if (await disableDestination(db, delivery.destinationId, decision.reason, { deliveryId: delivery.id })) {
        await deps.status.destinationDisabled({ destinationId: delivery.destinationId, integrationId: delivery.integrationId, reason: decision.reason });
      }
    }
  }

  async function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        const free = settings.concurrency - active;
        if (stopping || free <= 0) break;
        const claimed = await claimDueDeliveries(db, workerId, free, settings.leaseMs);
        if (claimed.length === 0) break;
        const work = await loadDeliveryWork(db, claimed);
        for (const delivery of claimed) {
          active += 1;
          void deps.status.deliveryStatus({
            deliveryId: delivery.id,
            eventId: delivery.eventId,
            integrationId: delivery.integrationId,
            destinationId: delivery.destinationId,
            previousStatus: delivery.previousStatus,
            status: 'IN_FLIGHT',
          });
          const task = attempt(delivery, work.get(delivery.id))
            .catch((error: unknown) => {
              // The lease expires and another claim retries it; nothing is lost.
              log.error({ deliveryId: delivery.id, err: error }, 'delivery attempt failed unexpectedly');
            })
            .finally(() => {
              active -= 1;
              running.delete(task);
              // Refill in batches: one claim for half the slots, not one claim per finished attempt.
              if (active <= settings.concurrency / 2) schedulePump();
            });
          running.add(task);
        }
        if (claimed.length === free) pumpAgain = true;
      } while (pumpAgain);
    } catch (error) {
      log.error({ err: (error as Error).message }, 'claiming deliveries failed; will retry');
    } finally {
      pumping = false;
    }
  }

  function schedulePump(): void {
    pump().catch((error: unknown) => log.error({ err: error }, 'delivery pump failed'));
  }

  return {
    workerId,
    async start() {
      unsubscribe = await deps.coordination.subscribe(DELIVERY_WAKE_CHANNEL, schedulePump).catch((error: Error) => {
        log.warn({ err: error.message }, 'no wake-ups from the coordination port; polling only');
        return undefined;
      });
      pollTimer = setInterval(schedulePump, settings.pollIntervalMs);
      schedulePump();
    },
    async stop() {
      stopping = true;
      clearInterval(pollTimer);
      await unsubscribe?.().catch(() => {});
      // Let attempts in flight finish and record themselves; their leases cover the rest.
      await Promise.allSettled([...running]);
    },
  };
}
