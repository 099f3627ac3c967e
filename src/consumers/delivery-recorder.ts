import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/client.js';
import type { Logger } from '../log.js';
import { completeAttempts, disableDestination, releaseClaims, type ClaimedDelivery, type Completion } from './delivery-store.js';
import { recordDestinationOutcomes, summariseOutcomes, type HealthChange } from './destination-health.js';
import type { StatusPublisher } from './status-events.js';

/** What an outcome means for its destination, beyond the delivery itself. */
export interface DestinationEffect {
  /** Set when the receiver answered 410: the destination is disabled once the attempt is recorded. */
  disableReason?: string | undefined;
  /** Whether the attempt counts towards parking (a worker's own abort does not). */
  counts?: boolean;
  ok?: boolean;
  /** A Retry-After on 429/503: the destination is paused this long, for every worker. */
  pauseMs?: number;
}

interface Finished {
  delivery: ClaimedDelivery;
  completion: Completion;
  effect: DestinationEffect;
}

export interface RecorderDeps {
  db: Database;
  workerId: string;
  status: Pick<StatusPublisher, 'deliveryStatuses' | 'destinationDisabled'>;
  log: Logger;
  /** When a parked destination's first probe is due. */
  firstProbeInMs?: number;
  /** Parks, unparks and failed probes the group's outcomes caused. */
  onHealthChange?: (changes: HealthChange[]) => void;
  /** Deliveries that just became FAILED (dead) after their last attempt. */
  onDead?: (dead: { deliveryId: string; eventId: string; destinationId: string; integrationId: string; reason: string | null }[]) => void;
  /** Called after each group is written, with how many outcomes it held. */
  onSettled(count: number): void;
}

const MAX_BACKOFF_MS = 2_000;
/** On stop, a database that does not answer for this long is given up on: the leases cover the rest. */
const DRAIN_GIVE_UP_MS = 5_000;

/**
 * Group commit for finished attempts. One write is in flight at a time; whatever finishes while it
 * runs goes into the next one, so under load many attempts share one statement and one publish,
 * and a lone attempt waits only for the next turn of the event loop. A failed write keeps its group
 * and is tried again with backoff; the worker claims nothing new while many wait. Until its
 * record commits a delivery stays IN_FLIGHT under its lease: a crash in between means the lease
 * runs out and the delivery is sent again — at least once, never lost.
 */
export function createCompletionRecorder(deps: RecorderDeps) {
  const { db, workerId, log } = deps;
  let pending: Finished[] = [];
  let releases: ClaimedDelivery[] = [];
  let writing: Promise<void> | undefined;
  let scheduled = false;
  let failingSince: number | undefined;
  let failures = 0;
  let recorded = 0;
  let released = 0;

  function schedule(): void {
    if (writing || scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      writing = writeGroup().finally(() => {
        writing = undefined;
        if (pending.length > 0 || releases.length > 0) schedule();
      });
    });
  }

  async function writeGroup(): Promise<void> {
    const group = pending;
    const unstarted = releases;
    pending = [];
    releases = [];
    let held: Set<string>;
    let handedBack: Set<string>;
    try {
      held = await completeAttempts(db, workerId, group.map((finished) => finished.completion));
      handedBack = await releaseClaims(
        db,
        workerId,
        unstarted.map((delivery) => ({ deliveryId: delivery.id, attemptNumber: delivery.attemptNumber })),
      );
    } catch (error) {
      // Nothing of the group is lost: it goes back in front and is written again.
      pending = group.concat(pending);
      releases = unstarted.concat(releases);
      failures += 1;
      if (failingSince === undefined) {
        failingSince = Date.now();
        log.error({ err: (error as Error).message, waiting: pending.length + releases.length }, 'cannot record delivery attempts; retrying');
      }
      await sleep(Math.min(50 * 2 ** failures, MAX_BACKOFF_MS));
      return;
    }
    if (failingSince !== undefined) {
      log.info({ failures, ms: Date.now() - failingSince }, 'recording delivery attempts again');
      failingSince = undefined;
      failures = 0;
    }
    recorded += held.size;
    released += handedBack.size;

    const lost = group.filter((finished) => !held.has(finished.delivery.id));
    if (lost.length > 0) {
      log.warn({ deliveryIds: lost.map((finished) => finished.delivery.id) }, 'lease lost before the attempt was recorded; another claim owns the delivery now');
    }
    const changes = [
      ...group.filter((finished) => held.has(finished.delivery.id)).map(({ delivery, completion }) => ({ delivery, status: completion.status as string })),
      ...unstarted
        .filter((delivery) => handedBack.has(delivery.id))
        .map((delivery) => ({ delivery, status: delivery.attemptNumber > 1 ? 'RETRYING' : 'PENDING' })),
    ];
    void deps.status.deliveryStatuses(
      changes.map(({ delivery, status }) => ({
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        integrationId: delivery.integrationId,
        destinationId: delivery.destinationId,
        previousStatus: 'IN_FLIGHT',
        status,
      })),
    );
    const recordedNow = group.filter((finished) => held.has(finished.delivery.id));
    const dead = recordedNow.filter((finished) => finished.completion.status === 'FAILED');
    if (dead.length > 0) {
      deps.onDead?.(
        dead.map(({ delivery, completion }) => ({
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          destinationId: delivery.destinationId,
          integrationId: delivery.integrationId,
          reason: completion.lastError,
        })),
      );
    }
    for (const { delivery, effect } of group) {
      const disableReason = effect.disableReason;
      if (disableReason === undefined || !held.has(delivery.id)) continue;
      try {
        if (await disableDestination(db, delivery.destinationId, disableReason, { deliveryId: delivery.id })) {
          void deps.status.destinationDisabled({ destinationId: delivery.destinationId, integrationId: delivery.integrationId, reason: disableReason });
        }
      } catch (error) {
        log.error({ destinationId: delivery.destinationId, err: (error as Error).message }, 'could not disable a destination that answered 410');
      }
    }
    // After the 410 disables (which readers expect right after the FAILED status): the health count.
    await recordHealth(recordedNow);
    deps.onSettled(group.length + unstarted.length);
  }

  /**
   * Counts the recorded attempts into their destinations' health (park, unpark, probes, pauses).
   * Best effort after the records committed: a failure here costs a late park, never a delivery.
   */
  async function recordHealth(group: Finished[]): Promise<void> {
    const counted = group.filter((finished) => finished.completion.attempt !== null && finished.effect.counts !== false);
    if (counted.length === 0) return;
    try {
      const changes = await recordDestinationOutcomes(
        db,
        summariseOutcomes(
          counted.map(({ delivery, effect }) => ({ destinationId: delivery.destinationId, ok: effect.ok === true, probe: delivery.probe, pauseMs: effect.pauseMs ?? 0 })),
        ),
        deps.firstProbeInMs ?? 5_000,
      );
      if (changes.length > 0) deps.onHealthChange?.(changes);
    } catch (error) {
      log.error({ err: (error as Error).message }, 'could not update destination health');
    }
  }

  return {
    /** Outcomes handed in and not yet written. */
    waiting(): number {
      return pending.length + releases.length;
    },
    complete(delivery: ClaimedDelivery, completion: Completion, effect: DestinationEffect = {}): void {
      pending.push({ delivery, completion, effect });
      schedule();
    },
    /** A claim whose POST never started: handed back, due again at once. */
    release(delivery: ClaimedDelivery): void {
      releases.push(delivery);
      schedule();
    },
    /** Writes everything handed in so far; on stop. Gives up on a database that stays away. */
    async drain(): Promise<{ recorded: number; released: number }> {
      const started = Date.now();
      while (writing || scheduled || pending.length > 0 || releases.length > 0) {
        if (!writing && !scheduled) schedule();
        await (writing ?? new Promise((resolve) => setImmediate(resolve)));
        if (failingSince !== undefined && Date.now() - started > DRAIN_GIVE_UP_MS) {
          log.error({ unrecorded: pending.length, unreleased: releases.length }, 'gave up recording on stop; their leases will expire and they will be sent again');
          break;
        }
      }
      return { recorded, released };
    },
  };
}
