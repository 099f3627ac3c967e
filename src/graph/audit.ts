import type { Database } from '../db/client.js';
import { auditEntries } from '../db/schema.js';
import type { GraphContext } from './context.js';

type Executor = Pick<Database, 'insert'>;

/** Every mutation leaves one of these, in the same transaction as its change. Never a secret in `details`. */
export async function recordAudit(
  executor: Executor,
  ctx: Pick<GraphContext, 'actor' | 'requestId' | 'sourceIp'>,
  entry: { action: string; targetType: string; targetId: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await executor.insert(auditEntries).values({
    actor: ctx.actor,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId,
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    details: entry.details ?? {},
  });
}
