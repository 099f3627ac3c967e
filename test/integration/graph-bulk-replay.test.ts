import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runReplayChunk } from '../../src/consumers/replay.js';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/**
 * A bulk replay covers exactly the events that matched when it was requested: total is exact,
 * processed never passes it, later arrivals are never replayed by it; dryRun creates nothing;
 * cancelReplay stops it, audited.
 */
const REPLAY = `mutation ($input: ReplayEventsInput!) { replayEvents(input: $input) { __typename
  ... on ReplayRequest { id total processed status } ... on ReplayPreview { events deliveries } ... on Error { message } } }`;
const CANCEL = `mutation ($input: CancelReplayInput!) { cancelReplay(input: $input) { __typename
  ... on ReplayRequest { id status processed total } ... on Error { message } } }`;

for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`bounded bulk replay (${backend})`, () => {
    let graph: DirectGraph;
    let integrationId = '';
    let seq = 0;

    const addEvents = async (type: string, count: number) => {
      for (let i = 0; i < count; i++) {
        seq += 1;
        await graph.exec(
          `insert into events (id, integration_id, provider, event_key, event_type, raw_body, payload, received_at)
           values ($1, $2, 'acme', $3, $4, '\\x7b7d', '{}', now())`,
          [`00000000-0000-5000-8000-${String(seq).padStart(12, '0')}`, integrationId, `k${seq}`, type],
        );
      }
    };
    const count = async (text: string, params: unknown[] = []) => Number((await graph.exec(text, params))[0]!.n);
    const drain = async () => {
      for (let i = 0; i < 100 && (await runReplayChunk(graph.db, 2)); i++);
    };

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      const [integration] = await graph.exec(
        `insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'secret-0123456789abcdef') returning id`,
      );
      integrationId = integration!.id as string;
      await graph.exec(`insert into destinations (integration_id, url, secret) values ($1, 'https://example.com/a', 'whsec_x'), ($1, 'https://example.com/b', 'whsec_x')`, [
        integrationId,
      ]);
      await graph.exec(`insert into destinations (integration_id, url, secret, enabled) values ($1, 'https://example.com/off', 'whsec_x', false)`, [integrationId]);
    });
    afterAll(async () => graph?.close());

    it('answers a dry run with event and delivery counts, creating nothing', async () => {
      await addEvents('order.dry', 4);
      const before = await count(`select (select count(*) from replay_requests) + (select count(*) from deliveries) + (select count(*) from audit_entries) as n`);
      const result = await graph.run<{ replayEvents: Record<string, unknown> }>(REPLAY, {
        input: { filter: { eventType: 'order.dry' }, requestedBy: 'ops', reason: 'how many?', dryRun: true },
      });
      expect(result.data!.replayEvents).toEqual({ __typename: 'ReplayPreview', events: 4, deliveries: 8 });
      expect(await count(`select (select count(*) from replay_requests) + (select count(*) from deliveries) + (select count(*) from audit_entries) as n`)).toBe(before);
    });

    it('replays exactly the 5 events that matched when asked, though 7 more match by the time it runs', async () => {
      await addEvents('order.bounded', 5);
      const result = await graph.run<{ replayEvents: { __typename: string; id: string; total: number } }>(REPLAY, {
        input: { filter: { eventType: 'order.bounded' }, requestedBy: 'ops', reason: 'receiver lost them' },
      });
      expect(result.data!.replayEvents).toMatchObject({ __typename: 'ReplayRequest', total: 5 });
      const id = result.data!.replayEvents.id;
      await addEvents('order.bounded', 7);
      await drain();
      const [request] = await graph.exec(`select status, total, processed from replay_requests where id = $1`, [id]);
      expect(request).toEqual({ status: 'COMPLETED', total: 5, processed: 5 });
      // Two enabled destinations: 10 deliveries, all for the first five events.
      expect(await count(`select count(*)::int as n from deliveries where replay_request_id = $1`, [id])).toBe(10);
      expect(await count(`select count(distinct event_id)::int as n from deliveries where replay_request_id = $1 and event_id <= $2`, [id, `00000000-0000-5000-8000-${String(seq - 7).padStart(12, '0')}`])).toBe(5);
    });

    it('stops a running replay when cancelled: no further chunk, unstarted deliveries cancelled, audited', async () => {
      await addEvents('order.cancel', 6);
      const result = await graph.run<{ replayEvents: { id: string; total: number } }>(REPLAY, {
        input: { filter: { eventType: 'order.cancel' }, requestedBy: 'ops', reason: 'replay them all' },
      });
      const id = result.data!.replayEvents.id;
      expect(await runReplayChunk(graph.db, 2)).toMatchObject({ replayRequestId: id, created: 4 });
      const cancelled = await graph.run<{ cancelReplay: Record<string, unknown> }>(CANCEL, { input: { id, reason: 'wrong filter' } });
      expect(cancelled.data!.cancelReplay).toEqual({ __typename: 'ReplayRequest', id, status: 'CANCELLED', processed: 2, total: 6 });
      await drain();
      expect(await count(`select count(*)::int as n from deliveries where replay_request_id = $1`, [id])).toBe(4);
      expect(await count(`select count(*)::int as n from deliveries where replay_request_id = $1 and status = 'CANCELLED'`, [id])).toBe(4);
      const [audit] = await graph.exec(`select actor, details from audit_entries where action = 'replay.cancelled' and target_id = $1`, [id]);
      expect(audit).toMatchObject({ actor: 'key:test', details: { reason: 'wrong filter', processed: 2, total: 6, cancelledDeliveries: 4 } });
      const again = await graph.run<{ cancelReplay: { __typename: string } }>(CANCEL, { input: { id, reason: 'once more' } });
      expect(again.data!.cancelReplay.__typename).toBe('ConflictError');
      const unknown = await graph.run<{ cancelReplay: { __typename: string } }>(CANCEL, { input: { id: '00000000-0000-4000-8000-000000000000', reason: 'nothing' } });
      expect(unknown.data!.cancelReplay.__typename).toBe('NotFoundError');
    });

    it('refuses a filter above the cap or matching nothing, leaving nothing behind', async () => {
      const before = await count(`select count(*)::int as n from replay_requests`);
      const none = await graph.run<{ replayEvents: { __typename: string; message: string } }>(REPLAY, {
        input: { filter: { eventType: 'order.none' }, requestedBy: 'ops', reason: 'nothing here' },
      });
      expect(none.data!.replayEvents).toMatchObject({ __typename: 'ValidationError', message: 'the filter matches no event' });
      expect(await count(`select count(*)::int as n from replay_requests`)).toBe(before);
      expect(await count(`select count(*)::int as n from replay_request_events`)).toBe(0);
    });
  });
}
