import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { generateDestinationSecret } from '../../src/consumers/outbound-signature.js';
import { BENCH_PROVIDER, benchIngressRecord, eventRowOf, type EventRow } from './bench-webhooks.js';

/**
 * The rows a bench database starts with: one integration, one enabled destination, optionally due
 * deliveries. Plain SQL on purpose: the seed does not change when the application's data layer does.
 */

export interface SeededIntegration {
  integrationId: string;
  destinationId: string;
  destinationSecret: string;
}

/** `integrationId` lets a baseline database hold the same ids as Hookgate's, so its rows are the same rows. */
export async function seedIntegration(
  databaseUrl: string,
  options: { destinationUrl: string; integrationId?: string; destinationId?: string; destinationSecret?: string },
): Promise<SeededIntegration> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    // A rate limit no bench reaches, as the ingress bench sets it.
    const [integration] = await sql<{ id: string }[]>`
      insert into integrations ${sql({
        id: options.integrationId ?? randomUUID(),
        provider: BENCH_PROVIDER,
        name: 'Acme (bench)',
        scheme: 'HMAC_SHA256',
        secret: randomBytes(24).toString('hex'),
        rate_limit_per_minute: 100_000_000,
      })}
      returning id`;
    const destinationSecret = options.destinationSecret ?? generateDestinationSecret();
    const [destination] = await sql<{ id: string }[]>`
      insert into destinations ${sql({
        id: options.destinationId ?? randomUUID(),
        integration_id: integration!.id,
        url: options.destinationUrl,
        secret: destinationSecret,
      })}
      returning id`;
    return { integrationId: integration!.id, destinationId: destination!.id, destinationSecret };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Stores webhooks 0…count-1 as events, each with one PENDING dispatch to the destination, straight
 * through SQL: what the persist step would have left behind, without running it.
 */
export async function insertPendingDeliveries(
  databaseUrl: string,
  options: { runId: string; seeded: SeededIntegration; startMs: number; count: number },
): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const chunk = 1000;
  try {
    for (let from = 0; from < options.count; from += chunk) {
      const rows: EventRow[] = [];
      for (let index = from; index < Math.min(options.count, from + chunk); index++) {
        const record = benchIngressRecord({ runId: options.runId, integrationId: options.seeded.integrationId, startMs: options.startMs, index });
        rows.push(eventRowOf(record, index % 6, Math.floor(index / 6)));
      }
      await sql.begin(async (tx) => {
        await tx`insert into events ${tx(rows)}`;
        await tx`insert into deliveries ${tx(
          rows.map((row) => ({ event_id: row.id, destination_id: options.seeded.destinationId, integration_id: row.integration_id })),
        )}`;
      });
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
