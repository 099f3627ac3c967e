import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';
import { createOutageLog } from '../outage-log.js';
import type { HealthChange } from './destination-health.js';
import { signStandardWebhook } from './outbound-signature.js';

/**
 * Operator notifications (issue 14): when configured, one webhook per change — a destination
 * parked, unparked or disabled, a delivery dead after its last attempt — POSTed to the operator's
 * URL, signed in the Standard Webhooks format with the configured secret, so a team hears about
 * trouble without watching a dashboard. Best effort: a few quick retries, then it is logged (once
 * per outage) and dropped; the audit trail holds every change anyway. Never a body, never a secret.
 */
export interface OperatorNotification {
  type: 'destination.parked' | 'destination.unparked' | 'destination.disabled' | 'delivery.dead';
  data: Record<string, unknown>;
}

const NOTIFIED: Partial<Record<HealthChange['change'], OperatorNotification['type']>> = {
  PARKED: 'destination.parked',
  UNPARKED: 'destination.unparked',
  DISABLED: 'destination.disabled',
};
const ATTEMPTS = 3;
const TIMEOUT_MS = 5_000;

export function createOperatorNotifier(deps: { url: string; secret: string; log: Logger; fetch?: typeof fetch }) {
  const post = deps.fetch ?? fetch;
  const outage = createOutageLog(deps.log, 'operator notifications', { consequence: 'operators hear of changes through the audit trail only' });
  const sending = new Set<Promise<void>>();

  async function deliver(notification: OperatorNotification): Promise<void> {
    const id = `ntf_${randomUUID()}`;
    const body = Buffer.from(JSON.stringify({ type: notification.type, timestamp: new Date().toISOString(), data: notification.data }));
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const timestamp = Math.floor(Date.now() / 1000);
      try {
        const response = await post(deps.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signStandardWebhook(deps.secret, id, timestamp, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) {
          outage.succeeded();
          return;
        }
        if (attempt === ATTEMPTS) outage.failed(new Error(`operator webhook answered ${response.status}`), { type: notification.type });
      } catch (error) {
        if (attempt === ATTEMPTS) outage.failed(error as Error, { type: notification.type });
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }

  function notify(notification: OperatorNotification): void {
    const task = deliver(notification).finally(() => sending.delete(task));
    sending.add(task);
  }

  return {
    healthChanged(changes: HealthChange[]): void {
      for (const change of changes) {
        const type = NOTIFIED[change.change];
        if (type) notify({ type, data: { destinationId: change.destinationId, integrationId: change.integrationId, reason: change.reason } });
      }
    },
    deliveriesDead(dead: { deliveryId: string; eventId: string; destinationId: string; integrationId: string; reason: string | null }[]): void {
      for (const delivery of dead) notify({ type: 'delivery.dead', data: { ...delivery } });
    },
    /** On stop: lets notifications under way finish (each is bounded by its retries). */
    async drain(): Promise<void> {
      await Promise.allSettled([...sending]);
    },
  };
}

export type OperatorNotifier = ReturnType<typeof createOperatorNotifier>;
