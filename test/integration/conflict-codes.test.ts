import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/** A client tells conflicts apart by ConflictError.code, never by the message text. */
const RETRY = `mutation ($id: ID!) { retryDelivery(input: { deliveryId: $id, requestedBy: "ops", reason: "try again" }) {
  __typename ... on ConflictError { code message } } }`;

for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`typed conflicts (${backend})`, () => {
    let graph: DirectGraph;
    let integrationId = '';
    let destinationId = '';
    let seq = 0;

    const failedDelivery = async (status = 'FAILED') => {
      seq += 1;
      const eventId = `00000000-0000-5000-8000-${String(seq).padStart(12, '0')}`;
      await graph.exec(`insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at) values ($1, $2, 'acme', $3, '\\x7b7d', '{}', now())`, [
        eventId,
        integrationId,
        `k${seq}`,
      ]);
      const [row] = await graph.exec(`insert into deliveries (event_id, destination_id, integration_id, status) values ($1, $2, $3, $4) returning id`, [
        eventId,
        destinationId,
        integrationId,
        status,
      ]);
      return row!.id as string;
    };
    const retry = async (id: string) => (await graph.run<{ retryDelivery: { __typename: string; code?: string } }>(RETRY, { id })).data!.retryDelivery;

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      const [integration] = await graph.exec(
        `insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'secret-0123456789abcdef') returning id`,
      );
      integrationId = integration!.id as string;
      const [destination] = await graph.exec(`insert into destinations (integration_id, url, secret) values ($1, 'https://example.com/in', 'whsec_x') returning id`, [integrationId]);
      destinationId = destination!.id as string;
    });
    afterAll(async () => graph?.close());

    it('answers NOT_FAILED, COOLDOWN and DESTINATION_DISABLED for retries', async () => {
      expect(await retry(await failedDelivery('SUCCEEDED'))).toMatchObject({ __typename: 'ConflictError', code: 'NOT_FAILED' });
      const failed = await failedDelivery();
      expect((await retry(failed)).__typename).toBe('Delivery');
      await graph.exec(`update deliveries set status = 'FAILED' where id = $1`, [failed]);
      expect(await retry(failed)).toMatchObject({ __typename: 'ConflictError', code: 'COOLDOWN' });
      const another = await failedDelivery();
      await graph.exec(`update destinations set enabled = false where id = $1`, [destinationId]);
      expect(await retry(another)).toMatchObject({ __typename: 'ConflictError', code: 'DESTINATION_DISABLED' });
      await graph.exec(`update destinations set enabled = true where id = $1`, [destinationId]);
    });

    it('answers ALREADY_EXISTS for a second integration of one provider', async () => {
      const result = await graph.run<{ createIntegration: { __typename: string; code?: string } }>(
        `mutation { createIntegration(input: { provider: "acme", name: "Again", verification: { scheme: HMAC_SHA256, secret: "another-secret-0123456789" } }) {
           __typename ... on ConflictError { code } } }`,
      );
      expect(result.data!.createIntegration).toEqual({ __typename: 'ConflictError', code: 'ALREADY_EXISTS' });
    });

    it('answers NOT_CANCELLABLE for a replay that is no longer running', async () => {
      const [request] = await graph.exec(`insert into replay_requests (requested_by, reason, status, filter) values ('ops', 'done', 'COMPLETED', '{}') returning id`);
      const result = await graph.run<{ cancelReplay: { __typename: string; code?: string } }>(
        `mutation ($id: ID!) { cancelReplay(input: { id: $id, reason: "too late" }) { __typename ... on ConflictError { code } } }`,
        { id: request!.id },
      );
      expect(result.data!.cancelReplay).toEqual({ __typename: 'ConflictError', code: 'NOT_CANCELLABLE' });
    });
  });
}
