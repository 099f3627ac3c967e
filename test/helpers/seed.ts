import type postgres from 'postgres';
import { destinationSecret } from './app-on.js';

/**
 * Writes what the persist step would have written for `count` events — an integration, one
 * destination at `url`, the events and one pending DISPATCH delivery each — in one transaction,
 * so delivery workers can be tested without ingress or Kafka. Returns the delivery ids.
 */
export async function seedPendingDeliveries(sql: postgres.Sql, options: { url: string; count: number }): Promise<string[]> {
  const run = crypto.randomUUID().slice(0, 8);
  return sql.begin(async (tx) => {
    const [integration] = await tx<{ id: string }[]>`
      insert into integrations (provider, name, scheme, secret)
      values (${`seeded-${run}`}, ${`seeded ${run}`}, 'HMAC_SHA256', ${`seed-secret-${run}`})
      returning id`;
    const [destination] = await tx<{ id: string }[]>`
      insert into destinations (integration_id, url, secret) values (${integration!.id}, ${options.url}, ${destinationSecret()})
      returning id`;
    const events = Array.from({ length: options.count }, (_, index) => {
      const body = JSON.stringify({ id: `seeded-${run}-${index}`, index });
      return {
        id: crypto.randomUUID(),
        integration_id: integration!.id,
        provider: `seeded-${run}`,
        event_key: `seeded-${run}-${index}`,
        raw_body: Buffer.from(body),
        payload: tx.json(JSON.parse(body) as postgres.JSONValue),
        received_at: new Date(),
      };
    });
    await tx`insert into events ${tx(events)}`;
    const deliveries = await tx<{ id: string }[]>`
      insert into deliveries ${tx(events.map((event) => ({ event_id: event.id, destination_id: destination!.id, integration_id: integration!.id })))}
      returning id`;
    return deliveries.map((delivery) => delivery.id);
  });
}
