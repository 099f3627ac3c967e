import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/**
 * Every list field is batched per operation: the statement count of a deep page does not grow
 * with the number of rows on it, and heavy columns load only when selected. Counted from the
 * statements drizzle issues, on both backends.
 */
const EVENTS = 50;

for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`batched lists (${backend})`, () => {
    let graph: DirectGraph;

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      const [integration] = await graph.exec(
        `insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'secret-0123456789abcdef') returning id`,
      );
      const integrationId = integration!.id as string;
      const destinationIds: string[] = [];
      for (const path of ['a', 'b']) {
        const [row] = await graph.exec(`insert into destinations (integration_id, url, secret) values ($1, $2, 'whsec_x') returning id`, [
          integrationId,
          `https://example.com/${path}`,
        ]);
        destinationIds.push(row!.id as string);
      }
      const [replay] = await graph.exec(`insert into replay_requests (requested_by, reason) values ('ops', 'batching') returning id`);
      for (let i = 0; i < EVENTS; i++) {
        const eventId = `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`;
        await graph.exec(
          `insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at)
           values ($1, $2, 'acme', $3, convert_to('{"big":"' || repeat('x', 5000) || '"}', 'UTF8'), jsonb_build_object('big', repeat('x', 5000)), now())`,
          [eventId, integrationId, `k${i}`],
        );
        for (const destinationId of destinationIds) {
          const [delivery] = await graph.exec(
            `insert into deliveries (event_id, destination_id, integration_id, trigger, replay_request_id) values ($1, $2, $3, 'REPLAY', $4) returning id`,
            [eventId, destinationId, integrationId, replay!.id],
          );
          for (const attempt of [1, 2]) {
            await graph.exec(`insert into delivery_attempts (delivery_id, attempt_number, started_at, duration_ms, status_code) values ($1, $2, now(), 5, 500)`, [
              delivery!.id,
              attempt,
            ]);
          }
        }
        for (const action of ['event.received', 'event.replay_requested']) {
          await graph.exec(`insert into audit_entries (actor, action, target_type, target_id) values ('ops', $1, 'event', $2)`, [action, eventId]);
        }
      }
    });
    afterAll(async () => graph?.close());

    it('serves 50 events with deliveries, attempts, destinations and audit entries in at most 8 statements', async () => {
      graph.statements.length = 0;
      const result = await graph.run<{ events: { edges: { node: { deliveries: { attempts: unknown[]; destination: { url: string } }[]; auditEntries: unknown[] } }[] } }>(
        `{ events(first: 50) { edges { node { id status eventKey
            deliveries { id status attempts { attemptNumber statusCode } destination { id url } event { id } }
            auditEntries { action actor } } } } }`,
      );
      expect(result.errors).toBeUndefined();
      const nodes = result.data!.events.edges.map((edge) => edge.node);
      expect(nodes).toHaveLength(EVENTS);
      expect(nodes.flatMap((node) => node.deliveries)).toHaveLength(EVENTS * 2);
      expect(nodes.flatMap((node) => node.deliveries.flatMap((delivery) => delivery.attempts))).toHaveLength(EVENTS * 4);
      expect(nodes.flatMap((node) => node.auditEntries)).toHaveLength(EVENTS * 2);
      expect(new Set(nodes.flatMap((node) => node.deliveries.map((delivery) => delivery.destination.url)))).toEqual(
        new Set(['https://example.com/a', 'https://example.com/b']),
      );
      expect(graph.statements.length, graph.statements.join('\n')).toBeLessThanOrEqual(8);
    });

    it('reads no payload, headers or raw body unless selected, and loads them in one statement when they are', async () => {
      graph.statements.length = 0;
      await graph.run(`{ events(first: 50) { edges { node { id eventKey receivedAt } } } }`);
      expect(graph.statements).toHaveLength(1);
      expect(graph.statements[0]).not.toMatch(/"payload"|"headers"|"raw_body"/);

      graph.statements.length = 0;
      const result = await graph.run<{ events: { edges: { node: { payload: { big: string }; rawBody: string } }[] } }>(
        `{ events(first: 50) { edges { node { id payload headers rawBody } } } }`,
      );
      expect(result.data!.events.edges[0]!.node.payload.big).toHaveLength(5000);
      expect(result.data!.events.edges[0]!.node.rawBody).toContain('xxxxx');
      expect(graph.statements).toHaveLength(3);
    });

    it('batches integration destinations and replay deliveries whatever the number of parents', async () => {
      graph.statements.length = 0;
      const result = await graph.run<{ integrations: { edges: { node: { destinations: unknown[] } }[] }; replayRequests: { edges: { node: { deliveries: unknown[] } }[] } }>(
        `{ integrations(first: 10) { edges { node { id destinations { id url } } } }
           replayRequests(first: 10) { edges { node { id deliveries { id event { id eventKey } destination { url } } } } } }`,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.integrations.edges[0]!.node.destinations).toHaveLength(2);
      expect(result.data!.replayRequests.edges[0]!.node.deliveries).toHaveLength(100);
      expect(graph.statements.length, graph.statements.join('\n')).toBeLessThanOrEqual(6);
    });

    it('has an index on deliveries.replay_request_id', async () => {
      if (backend !== 'postgres') return;
      const rows = await graph.exec(`select indexname from pg_indexes where tablename = 'deliveries' and indexdef like '%replay_request_id%'`);
      expect(rows.map((row) => row.indexname)).toContain('deliveries_replay_request_idx');
    });
  });
}
