import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { holdParkedDeliveries, releaseParkedDeliveries } from '../consumers/parked-deliveries.js';
import type { Database } from '../db/client.js';
import { auditEntries, destinations, type Destination } from '../db/schema.js';

/** Who asked, for the audit entry (the API passes its request's actor, id and address). */
export interface OperatorContext {
  actor: string;
  requestId: string | null;
  sourceIp: string | null;
}

export type ParkingOutcome =
  | { ok: true; destination: Destination; changed: boolean }
  | { ok: false; code: 'NOT_FOUND' | 'DESTINATION_DISABLED'; message: string };

/**
 * An operator parks a destination by hand (a receiver under maintenance): exactly as the workers
 * park one, probes included. Parking a parked destination changes nothing and writes nothing.
 */
export async function parkDestination(db: Database, id: string, reason: string, firstProbeInMs: number, who: OperatorContext): Promise<ParkingOutcome> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(destinations).where(eq(destinations.id, id)).for('update');
    if (!current) return { ok: false, code: 'NOT_FOUND', message: `destination ${id} was not found` };
    if (!current.enabled) return { ok: false, code: 'DESTINATION_DISABLED', message: 'a disabled destination cannot be parked; re-enable it first' };
    if (current.parkedAt) return { ok: true, destination: current, changed: false };
    const [row] = await tx
      .update(destinations)
      .set({
        parkedAt: sql`now()`,
        parkedReason: reason,
        nextProbeAt: sql`now() + ${firstProbeInMs} * interval '1 millisecond'`,
        probeCount: 0,
        windowStartedAt: null,
        windowAttempts: 0,
        windowFailures: 0,
        updatedAt: new Date(),
      })
      .where(and(eq(destinations.id, id), isNull(destinations.parkedAt)))
      .returning();
    await holdParkedDeliveries(tx, id);
    await tx.insert(auditEntries).values({ ...who, action: 'destination.parked', targetType: 'destination', targetId: id, details: { reason, byOperator: true } });
    return { ok: true, destination: row!, changed: true };
  });
}

/** An operator unparks a destination: its backlog drains in order, from one request at a time upwards. */
export async function unparkDestination(db: Database, id: string, reason: string, who: OperatorContext): Promise<ParkingOutcome> {
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(destinations).where(eq(destinations.id, id)).for('update');
    if (!current) return { ok: false, code: 'NOT_FOUND', message: `destination ${id} was not found` };
    if (!current.parkedAt) return { ok: true, destination: current, changed: false };
    const [row] = await tx
      .update(destinations)
      .set({ parkedAt: null, parkedReason: null, nextProbeAt: null, consecutiveFailures: 0, unparkedAt: sql`now()`, updatedAt: new Date() })
      .where(and(eq(destinations.id, id), isNotNull(destinations.parkedAt)))
      .returning();
    await releaseParkedDeliveries(tx, id, 'created');
    await tx.insert(auditEntries).values({ ...who, action: 'destination.unparked', targetType: 'destination', targetId: id, details: { reason, byOperator: true } });
    return { ok: true, destination: row!, changed: true };
  });
}
