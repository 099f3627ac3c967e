import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parse, subscribe } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELIVERY_STATUS_CHANNEL, EVENTS_RECEIVED_CHANNEL } from '../../src/consumers/status-events.js';
import { createFanOut, type FanOut } from '../../src/graph/fan-out.js';
import { buildSchema } from '../../src/graph/schema/index.js';
import { createLogger } from '../../src/log.js';
import { eventually } from '../helpers/eventually.js';
import { BACKENDS, openDirectGraph, type DirectGraph } from '../helpers/graph-direct.js';
import { missingServices } from '../helpers/services.js';

/**
 * Live data that is live, and fan-out that shares work: subscribers with the same document and
 * variables share one execution and one serialised payload per message; filters are matched by
 * index; every message is resolved with fresh loaders; memory stays flat over 10,000 messages.
 */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

class FakeSocket {
  readyState = 1;
  bufferedAmount = 0;
  received = 0;
  last = '';
  keep: string[] | undefined;
  constructor(keep = true) {
    this.keep = keep ? [] : undefined;
  }
  send(data: string) {
    this.received += 1;
    this.last = data;
    this.keep?.push(data);
  }
  close() {
    this.readyState = 3;
  }
}

const SUB = `subscription ($filter: DeliveryStatusChangedFilter) { deliveryStatusChanged(filter: $filter) { deliveryId status } }`;

for (const backend of BACKENDS) {
  const missing = backend === 'postgres' ? missingServices(['postgres']) : [];
  describe.skipIf(missing.length > 0)(`subscriptions (${backend})`, () => {
    let graph: DirectGraph;
    let fanOut: FanOut;
    let integrationId = '';
    let destinationId = '';
    let deliveryId = '';
    const eventId = '00000000-0000-5000-8000-000000000001';
    const schema = buildSchema();

    const change = (overrides: Record<string, string> = {}) => ({
      deliveryId,
      eventId,
      integrationId,
      destinationId,
      previousStatus: 'IN_FLIGHT',
      status: 'SUCCEEDED',
      at: new Date().toISOString(),
      ...overrides,
    });
    const publish = (message: object) => graph.coordination.publish(DELIVERY_STATUS_CHANNEL, JSON.stringify(message));
    const join = (query: string, variables: Record<string, unknown>, socket: FakeSocket, id: string = randomUUID()) => {
      const args = { schema, document: parse(query), variableValues: variables, operationName: null };
      return fanOut.subscribe(args, { id, query, socket });
    };

    beforeAll(async () => {
      graph = await openDirectGraph(backend);
      await graph.live.start();
      fanOut = createFanOut({ live: graph.live, newContext: graph.context, log: createLogger({ level: 'silent' }) });
      const [integration] = await graph.exec(
        `insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 'secret-0123456789abcdef') returning id`,
      );
      integrationId = integration!.id as string;
      const [destination] = await graph.exec(`insert into destinations (integration_id, url, secret) values ($1, 'https://example.com/old', 'whsec_x') returning id`, [
        integrationId,
      ]);
      destinationId = destination!.id as string;
      await graph.exec(
        `insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at) values ($1, $2, 'acme', 'k1', '\\x7b7d', '{}', now())`,
        [eventId, integrationId],
      );
      const [delivery] = await graph.exec(`insert into deliveries (event_id, destination_id, integration_id) values ($1, $2, $3) returning id`, [
        eventId,
        destinationId,
        integrationId,
      ]);
      deliveryId = delivery!.id as string;
    });
    afterAll(async () => {
      fanOut?.stop();
      await graph?.live.stop();
      await graph?.close();
    });

    it('resolves every message with fresh data, on graphql-ws (shared) and on the per-subscriber path (SSE)', async () => {
      await graph.exec(`update destinations set url = 'https://example.com/old' where id = $1`, [destinationId]);
      const query = `subscription { deliveryStatusChanged { deliveryId delivery { status destination { url } } } }`;
      const socket = new FakeSocket();
      const iterator = join(query, {}, socket) as AsyncIterableIterator<unknown>;
      const perSubscriber = (await subscribe({ schema, document: parse(query), contextValue: graph.context() })) as AsyncIterableIterator<{
        data: { deliveryStatusChanged: { delivery: { status: string; destination: { url: string } } } };
      }>;
      await new Promise((resolve) => setTimeout(resolve, 20));

      // The per-subscriber stream starts listening on its first pull, as graphql-ws and yoga do at once.
      const firstPull = perSubscriber.next();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await publish(change());
      const first = await firstPull;
      await eventually(async () => (socket.received === 1 ? true : undefined));
      expect(first.value!.data.deliveryStatusChanged.delivery.destination.url).toBe('https://example.com/old');
      expect(socket.last).toContain('https://example.com/old');

      await graph.exec(`update destinations set url = 'https://example.com/new' where id = $1`, [destinationId]);
      await graph.exec(`update deliveries set status = 'SUCCEEDED' where id = $1`, [deliveryId]);
      const secondPull = perSubscriber.next();
      await publish(change());
      const second = await secondPull;
      await eventually(async () => (socket.received === 2 ? true : undefined));
      expect(second.value!.data.deliveryStatusChanged.delivery).toMatchObject({ status: 'SUCCEEDED', destination: { url: 'https://example.com/new' } });
      expect(socket.last).toContain('https://example.com/new');
      expect(socket.last).toContain('"status":"SUCCEEDED"');
      await iterator.return!();
      await perSubscriber.return!();
      expect(fanOut.stats().groups).toBe(0);
    });

    if (backend !== 'postgres') return;

    it('executes once per message for 1,000 subscribers sharing a document, and writes them the same bytes', async () => {
      const before = fanOut.stats().executions;
      const sockets = Array.from({ length: 1000 }, () => new FakeSocket());
      const iterators = sockets.map((socket, index) => join(SUB, { filter: { integrationId } }, socket, `sub-${index}`) as AsyncIterableIterator<unknown>);
      expect(fanOut.stats()).toMatchObject({ groups: 1, subscribers: 1000 });
      for (let i = 0; i < 20; i++) await publish(change({ deliveryId: randomUUID() }));
      await eventually(async () => (sockets.every((socket) => socket.received === 20) ? true : undefined));
      expect(fanOut.stats().executions - before).toBe(20);
      const payloadOf = (message: string) => message.slice(message.indexOf('"payload":'));
      expect(new Set(sockets.map((socket) => payloadOf(socket.last))).size).toBe(1);
      const parsed = JSON.parse(sockets[7]!.last) as { id: string; type: string; payload: { data: { deliveryStatusChanged: { status: string } } } };
      expect(parsed).toMatchObject({ id: 'sub-7', type: 'next', payload: { data: { deliveryStatusChanged: { status: 'SUCCEEDED' } } } });
      await Promise.all(iterators.map((iterator) => iterator.return!()));
      expect(fanOut.stats()).toMatchObject({ groups: 0, subscribers: 0 });
    });

    it('sends each subscriber exactly the messages its filter matches, executing only matching groups', async () => {
      const otherIntegration = randomUUID();
      const otherEvent = randomUUID();
      const filters = {
        all: {},
        integration: { integrationId },
        event: { eventId: otherEvent },
        failed: { status: 'FAILED' },
        failedHere: { integrationId, status: 'FAILED' },
        elsewhere: { integrationId: otherIntegration },
      } as const;
      const sockets = Object.fromEntries(Object.keys(filters).map((name) => [name, new FakeSocket()])) as Record<keyof typeof filters, FakeSocket>;
      const iterators = Object.entries(filters).map(([name, filter]) => join(SUB, { filter }, sockets[name as keyof typeof filters]) as AsyncIterableIterator<unknown>);
      const before = fanOut.stats().executions;
      await publish(change({ status: 'SUCCEEDED' })); // all, integration
      await publish(change({ status: 'FAILED' })); // all, integration, failed, failedHere
      await publish(change({ integrationId: otherIntegration, eventId: otherEvent, status: 'FAILED' })); // all, event, failed, elsewhere
      await eventually(async () => (fanOut.stats().executions - before === 10 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fanOut.stats().executions - before).toBe(10);
      expect(Object.fromEntries(Object.entries(sockets).map(([name, socket]) => [name, socket.received]))).toEqual({
        all: 3,
        integration: 2,
        event: 1,
        failed: 2,
        failedHere: 1,
        elsewhere: 1,
      });
      await Promise.all(iterators.map((iterator) => iterator.return!()));
    });

    it('answers invalid subscription arguments with an error, joining no group', async () => {
      const result = join(SUB, { filter: { integrationId: 'not-a-uuid' } }, new FakeSocket()) as { errors?: { message: string }[] };
      expect(result.errors?.[0]?.message).toMatch(/invalid input/);
      expect(fanOut.stats().groups).toBe(0);
      const events = join(`subscription { eventReceived(provider: "acme") { id } }`, {}, new FakeSocket()) as AsyncIterableIterator<unknown>;
      expect(fanOut.stats().groups).toBe(1);
      await graph.coordination.publish(EVENTS_RECEIVED_CHANNEL, JSON.stringify([{ eventId, integrationId, provider: 'acme', eventType: null, receivedAt: new Date().toISOString() }]));
      await events.return!();
    });

    it('keeps memory per subscription flat over 10,000 messages, shared and per-subscriber', async () => {
      const query = `subscription { deliveryStatusChanged { deliveryId status delivery { id destination { url } } } }`;
      const socket = new FakeSocket(false);
      const shared = join(query, {}, socket) as AsyncIterableIterator<unknown>;
      const perSubscriber = (await subscribe({ schema, document: parse(query), contextValue: graph.context() })) as AsyncIterableIterator<unknown>;
      let perSubscriberSeen = 0;
      const consuming = (async () => {
        for await (const _ of perSubscriber) perSubscriberSeen += 1;
      })();
      const heap = () => {
        gc();
        gc();
        return process.memoryUsage().heapUsed;
      };
      let sent = 0;
      const sendBatch = async (count: number) => {
        // Distinct deliveries: a loader cache that outlived its message would keep every one of them.
        for (let i = 0; i < count; i++) await publish(change({ deliveryId: randomUUID() }));
        sent += count;
        await eventually(async () => (socket.received === sent && perSubscriberSeen === sent ? true : undefined), 60_000, 5);
        graph.statements.length = 0; // the test's own statement log is not the server's memory
      };
      for (let i = 0; i < 4; i++) await sendBatch(500);
      const warm = heap();
      for (let i = 0; i < 16; i++) await sendBatch(500);
      const after = heap();
      const growthPerMessage = (after - warm) / 8000;
      console.info(`heap after 2,000 messages ${(warm / 1048576).toFixed(1)} MiB, after 10,000 ${(after / 1048576).toFixed(1)} MiB: ${growthPerMessage.toFixed(1)} bytes/message`);
      expect(socket.received).toBe(10_000);
      expect(perSubscriberSeen).toBe(10_000);
      // A per-subscription loader cache costs several hundred bytes per message held; flat is well under that.
      expect(growthPerMessage).toBeLessThan(100);
      await shared.return!();
      await perSubscriber.return!();
      await consuming;
    }, 180_000);
  });
}
