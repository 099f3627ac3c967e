import type { Database } from '../db/client.js';
import { auditEntries } from '../db/schema.js';
import type { HandshakeAudit } from './handle-webhook.js';

/**
 * The audit entry of an answered handshake (issue 16): which integration, which handshake, from
 * where. A handshake is never an event, so this entry is its only trace.
 */
export function createHandshakeRecorder(db: Database) {
  return async function recordHandshake(entry: HandshakeAudit): Promise<void> {
    await db.insert(auditEntries).values({
      actor: 'system:ingress',
      action: 'integration.handshake',
      targetType: 'integration',
      targetId: entry.integrationId,
      requestId: entry.requestId,
      sourceIp: entry.sourceIp,
      details: { provider: entry.provider, handshake: entry.kind },
    });
  };
}
