import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/** Operators find "the webhook for order 1234" by payload containment or event-key prefix. */
const QUERY = `query ($filter: EventFilter) { events(first: 50, filter: $filter) { edges { node { eventKey } } } }`;

for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`payload search (${backend})`, () => {
    let graph: DirectGraph;
    const keys = async (filter: Record<string, unknown>) => {
      const result = await graph.run<{ events: { edges: { node: { eventKey: string } }[] } }>(QUERY, { filter });
      if (result.errors) return result.errors.map((error) => error.message);
      return result.data!.events.edges.map((edge) => edge.node.eventKey).sort();
    };

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      const [integration] = await graph.exec(
        `insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'secret-0123456789abcdef') returning id`,
      );
      const rows: [string, unknown][] = [
        ['order_1234', { customer: { id: 'cus_123', name: 'Ada' }, items: [{ sku: 'A' }, { sku: 'B' }] }],
        ['order_12345', { customer: { id: 'cus_999' }, items: [{ sku: 'B' }] }],
        ['orderX1234', { customer: { id: 'cus_123' } }],
        ['refund_1', { customer: 'cus_123', note: '100%_sure' }],
      ];
      let n = 0;
      for (const [key, payload] of rows) {
        n += 1;
        await graph.exec(
          `insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at) values ($1, $2, 'acme', $3, '\\x7b7d', $4::jsonb, now())`,
          [`00000000-0000-5000-8000-${String(n).padStart(12, '0')}`, integration!.id, key, JSON.stringify(payload)],
        );
      }
    });
    afterAll(async () => graph?.close());

    it('finds every event whose payload contains the given JSON', async () => {
      expect(await keys({ payloadContains: { customer: { id: 'cus_123' } } })).toEqual(['orderX1234', 'order_1234']);
      expect(await keys({ payloadContains: { items: [{ sku: 'B' }] } })).toEqual(['order_1234', 'order_12345']);
      expect(await keys({ payloadContains: { customer: 'cus_123' } })).toEqual(['refund_1']);
      expect(await keys({ payloadContains: { customer: { id: 'cus_404' } } })).toEqual([]);
    });

    it('finds events by event-key prefix, treating % and _ in the prefix literally', async () => {
      expect(await keys({ eventKeyPrefix: 'order_1234' })).toEqual(['order_1234', 'order_12345']);
      expect(await keys({ eventKeyPrefix: 'order' })).toEqual(['orderX1234', 'order_1234', 'order_12345']);
      expect(await keys({ eventKeyPrefix: 'order%' })).toEqual([]);
      expect(await keys({ eventKeyPrefix: 'orde_' })).toEqual([]);
    });

    it('combines both with the other filters, and refuses a scalar to contain', async () => {
      expect(await keys({ eventKeyPrefix: 'order_', payloadContains: { customer: { id: 'cus_123' } } })).toEqual(['order_1234']);
      const refused = await keys({ payloadContains: 'cus_123' });
      expect(refused[0]).toMatch(/payloadContains/);
    });

    if (backend !== 'postgres') return;

    it('is served by the GIN and pattern indexes', async () => {
      const plan = (where: string) => graph.explain(`select id from events where ${where}`);
      expect(await plan(`payload @> '{"customer":{"id":"cus_123"}}'::jsonb`)).toMatch(/events_payload_idx/);
      expect(await plan(`event_key like 'order\\_1234%'`)).toMatch(/events_key_pattern_idx/);
    });
  });
}
