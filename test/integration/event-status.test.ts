import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/**
 * An event's status is kept on the event by triggers on deliveries, whatever code writes them,
 * so `events(filter: {status})` and bulk-replay counts are index scans.
 */
for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`event status column (${backend})`, () => {
    let graph: DirectGraph;
    let integrationId = '';
    const destinations: string[] = [];
    let seq = 0;

    const newEvent = async () => {
      seq += 1;
      const id = `00000000-0000-5000-8000-${String(seq).padStart(12, '0')}`;
      await graph.exec(`insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at) values ($1, $2, 'acme', $3, '\\x7b7d', '{}', now())`, [
        id,
        integrationId,
        `k${seq}`,
      ]);
      return id;
    };
    const deliver = async (eventId: string, destinationId: string, trigger = 'DISPATCH') =>
      (await graph.exec(`insert into deliveries (event_id, destination_id, integration_id, trigger) values ($1, $2, $3, $4) returning id`, [eventId, destinationId, integrationId, trigger]))[0]!
        .id as string;
    const setStatus = (deliveryId: string, status: string) => graph.exec(`update deliveries set status = $2 where id = $1`, [deliveryId, status]);
    const statusOf = async (eventId: string) => (await graph.exec(`select status from events where id = $1`, [eventId]))[0]!.status;

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      const [integration] = await graph.exec(
        `insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'secret-0123456789abcdef') returning id`,
      );
      integrationId = integration!.id as string;
      for (const path of ['a', 'b']) {
        const [row] = await graph.exec(`insert into destinations (integration_id, url, secret) values ($1, $2, 'whsec_x') returning id`, [integrationId, `https://example.com/${path}`]);
        destinations.push(row!.id as string);
      }
    });
    afterAll(async () => graph?.close());

    it('follows the latest delivery to each destination through insert, update and replay', async () => {
      const eventId = await newEvent();
      expect(await statusOf(eventId)).toBe('RECEIVED');
      const a = await deliver(eventId, destinations[0]!);
      const b = await deliver(eventId, destinations[1]!);
      expect(await statusOf(eventId)).toBe('DELIVERING');
      await setStatus(a, 'SUCCEEDED');
      expect(await statusOf(eventId)).toBe('DELIVERING');
      await setStatus(b, 'FAILED');
      expect(await statusOf(eventId)).toBe('FAILED');
      const replay = await deliver(eventId, destinations[1]!, 'REPLAY');
      expect(await statusOf(eventId)).toBe('DELIVERING');
      await setStatus(replay, 'SUCCEEDED');
      expect(await statusOf(eventId)).toBe('DELIVERED');
    });

    it('updates many events in one statement, and ignores updates that do not change a status', async () => {
      const ids = [await newEvent(), await newEvent(), await newEvent()];
      await graph.exec(
        `insert into deliveries (event_id, destination_id, integration_id) select e, $2::uuid, $3::uuid from unnest($1::uuid[]) as e`,
        [ids, destinations[0], integrationId],
      );
      await graph.exec(`update deliveries set attempt_count = attempt_count + 1 where event_id = any($1::uuid[])`, [ids]);
      expect(await Promise.all(ids.map(statusOf))).toEqual(['DELIVERING', 'DELIVERING', 'DELIVERING']);
      await graph.exec(`update deliveries set status = 'SUCCEEDED' where event_id = any($1::uuid[])`, [ids]);
      expect(await Promise.all(ids.map(statusOf))).toEqual(['DELIVERED', 'DELIVERED', 'DELIVERED']);
    });

    it('filters events by status through the API', async () => {
      const failed = await newEvent();
      await setStatus(await deliver(failed, destinations[0]!), 'FAILED');
      const result = await graph.run<{ events: { edges: { node: { id: string; status: string } }[] } }>(`{ events(first: 50, filter: { status: FAILED }) { edges { node { id status } } } }`);
      const nodes = result.data!.events.edges.map((edge) => edge.node);
      expect(nodes.map((node) => node.id)).toContain(failed);
      expect(new Set(nodes.map((node) => node.status))).toEqual(new Set(['FAILED']));
    });

    if (backend !== 'postgres') return;

    it('is an index scan for the status filter', async () => {
      const rows = await graph.explain(`select id from events where status = 'FAILED' order by received_at desc, id desc limit 50`);
      expect(rows).toMatch(/events_status_received_idx/);
    });

    it('ends right when two transactions finish the deliveries of one event at the same time', async () => {
      const eventId = await newEvent();
      const a = await deliver(eventId, destinations[0]!);
      const b = await deliver(eventId, destinations[1]!);
      const rows = await graph.exec(`select current_database() as name`);
      const base = new URL(process.env.TEST_DATABASE_URL!);
      base.pathname = `/${rows[0]!.name as string}`;
      const one = postgres(base.toString(), { max: 1, onnotice: () => {} });
      const two = postgres(base.toString(), { max: 1, onnotice: () => {} });
      try {
        let releaseFirst!: () => void;
        const firstHolds = new Promise<void>((resolve) => (releaseFirst = resolve));
        let firstUpdated!: () => void;
        const updated = new Promise<void>((resolve) => (firstUpdated = resolve));
        const first = one.begin(async (tx) => {
          await tx`update deliveries set status = 'SUCCEEDED' where id = ${a}`;
          firstUpdated();
          await firstHolds;
        });
        await updated;
        // The second updates its delivery before the first commits, then waits on the event row.
        const second = two.begin(async (tx) => {
          await tx`update deliveries set status = 'SUCCEEDED' where id = ${b}`;
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        releaseFirst();
        await Promise.all([first, second]);
      } finally {
        await one.end();
        await two.end();
      }
      expect(await statusOf(eventId)).toBe('DELIVERED');
    });
  });
}
