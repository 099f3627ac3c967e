import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { DRAIN_ORDER_UPDATE } from './destination-health.js';

/**
 * Brings the deliveries a parking moved out of the due range (`'infinity'`) back: at their creation
 * time on unpark (the backlog drains in order), or now when the destination is disabled (the next
 * claim cancels them, as for any disabled destination).
 */
export async function releaseParkedDeliveries(tx: Pick<Database, 'execute'>, destinationId: string, due: 'created' | 'now'): Promise<void> {
  if (due === 'created') {
    await tx.execute(sql.raw(DRAIN_ORDER_UPDATE.replace('$TARGETS', `('${destinationId.replace(/[^0-9a-f-]/gi, '')}'::uuid)`)));
    return;
  }
  await tx.execute(sql`
    update deliveries set next_attempt_at = now()
    where destination_id = ${destinationId} and status in ('PENDING', 'RETRYING') and next_attempt_at = 'infinity'`);
}

/** Moves a destination's waiting deliveries out of the due range while it is parked. */
export async function holdParkedDeliveries(tx: Pick<Database, 'execute'>, destinationId: string): Promise<void> {
  await tx.execute(sql`
    update deliveries set next_attempt_at = 'infinity'
    where destination_id = ${destinationId} and status in ('PENDING', 'RETRYING')`);
}
