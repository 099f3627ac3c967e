import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/**
 * Pages are exact at the database's own precision (DESIGN.md §3): rows sharing a timestamp down
 * to the microsecond — a batch written with one now() — are each reachable once, both ways.
 */
const SHARED = '2026-11-23 10:00:00.123456+00';
const ROWS = 10;

type Page = { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string } };

async function walk(graph: DirectGraph, field: string, args = ''): Promise<{ forward: string[]; backward: string[] }> {
  const query = (direction: string) => `query ($cursor: String) { list: ${field}(${direction}${args}) {
    edges { node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
  const forward: string[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 20; pages++) {
    const result = await graph.run<{ list: Page }>(query('first: 3, after: $cursor'), { cursor: after ?? null });
    expect(result.errors).toBeUndefined();
    forward.push(...result.data!.list.edges.map((edge) => edge.node.id));
    if (!result.data!.list.pageInfo.hasNextPage) break;
    after = result.data!.list.pageInfo.endCursor;
  }
  const backward: string[] = [];
  let before: string | undefined;
  for (let pages = 0; pages < 20; pages++) {
    const result = await graph.run<{ list: Page }>(query('last: 3, before: $cursor'), { cursor: before ?? null });
    expect(result.errors).toBeUndefined();
    backward.unshift(...result.data!.list.edges.map((edge) => edge.node.id));
    if (!result.data!.list.pageInfo.hasPreviousPage) break;
    before = result.data!.list.pageInfo.startCursor;
  }
  return { forward, backward };
}

for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`exact keyset pagination (${backend})`, () => {
    let graph: DirectGraph;
    let integrationId = '';

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      const integrationRows = [];
      for (let i = 0; i < ROWS; i++) {
        integrationRows.push(
          ...(await graph.exec(
            `insert into integrations (provider, name, scheme, secret, created_at) values ($1, $1, 'HMAC_SHA256', 'secret-0123456789abcdef', $2) returning id`,
            [`p${i}`, SHARED],
          )),
        );
      }
      integrationId = integrationRows[0]!.id as string;
      const [destination] = await graph.exec(`insert into destinations (integration_id, url, secret) values ($1, 'https://example.com/in', 'whsec_x') returning id`, [
        integrationId,
      ]);
      for (let i = 0; i < ROWS; i++) {
        const eventId = `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`;
        await graph.exec(
          `insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at) values ($1, $2, 'p0', $3, '\\x7b7d', '{}', $4)`,
          [eventId, integrationId, `k${i}`, SHARED],
        );
        await graph.exec(`insert into deliveries (event_id, destination_id, integration_id, created_at) values ($1, $2, $3, $4)`, [
          eventId,
          destination!.id,
          integrationId,
          SHARED,
        ]);
        await graph.exec(`insert into replay_requests (requested_by, reason, created_at) values ('ops', 'paging', $1)`, [SHARED]);
      }
      // Ten audit entries in one transaction share its now(), as the persist step writes them.
      await graph.exec(
        `insert into audit_entries (actor, action, target_type) select 'persist', 'event.received', 'event' from generate_series(1, ${ROWS})`,
      );
    });
    afterAll(async () => graph?.close());

    const lists: [string, string, number][] = [
      ['auditEntries', '', ROWS],
      ['events', '', ROWS],
      ['deliveries', '', ROWS],
      ['replayRequests', '', ROWS],
      ['integrations', '', ROWS],
    ];
    for (const [field, args, count] of lists) {
      it(`reaches all ${count} ${field} sharing one timestamp, paged by 3, forwards and backwards`, async () => {
        const { forward, backward } = await walk(graph, field, args);
        expect(forward).toHaveLength(count);
        expect(new Set(forward).size).toBe(count);
        expect(backward).toEqual(forward);
      });
    }

    it('shares one microsecond timestamp among the audit entries (the case that used to drop rows)', async () => {
      const rows = await graph.exec(`select count(distinct at)::int as distinct_times, count(*)::int as total from audit_entries`);
      expect(rows[0]).toEqual({ distinct_times: 1, total: ROWS });
    });

    it('refuses a cursor that is not one of ours', async () => {
      const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
      const result = await graph.run(`{ events(first: 3, after: "${forged}") { edges { node { id } } } }`);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });
}
