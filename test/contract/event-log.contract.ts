import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventLogBatch, EventLogConsumer, EventLogProducer, IngressRecord, LoggedRecord, UndecodableMessage } from '../../src/ports/event-log.js';
import { partitionKeyOf } from '../../src/ports/event-log.js';
import { javaPartitionFor } from '../helpers/providers.js';
import { eventually } from '../helpers/eventually.js';

export interface EventLogUnderTest {
  /** Not started yet: the suite starts both. */
  producer: EventLogProducer;
  consumer: EventLogConsumer;
  /** Stops both and removes whatever the adapter created. */
  cleanup(): Promise<void>;
}

export interface EventLogTraits {
  /** The log's partition count, to check that records land where Kafka's Java partitioner puts them. */
  partitions: number;
  /**
   * When `publish` resolves: once the consumer committed the record (the embedded log), or once
   * the log durably holds it, consumed or not (Kafka's acks=all).
   */
  acknowledges: 'after-commit' | 'on-append';
  /** How long a record may take from publish to handler (Kafka: group join, fetch). */
  deliveryTimeoutMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function ingressRecord(overrides: Partial<IngressRecord> = {}): IngressRecord {
  return {
    eventId: randomUUID(),
    integrationId: randomUUID(),
    provider: 'stripe',
    eventKey: `evt_${randomBytes(6).toString('hex')}`,
    eventType: 'invoice.paid',
    orderingKey: null,
    receivedAt: new Date(),
    sourceIp: '203.0.113.7',
    headers: { 'content-type': 'application/json', 'x-trace': 'ünïcødé ✓' },
    rawBody: Buffer.from(JSON.stringify({ id: randomUUID(), amount: 4200 })),
    ...overrides,
  };
}

/** Records what the handler was given, and what it committed (resolved). */
function recorder(fail: (batch: EventLogBatch) => boolean = () => false) {
  const deliveries: { partition: number; offsets: bigint[]; eventIds: string[]; committed: boolean }[] = [];
  const committed: LoggedRecord[] = [];
  const undecodable: UndecodableMessage[] = [];
  const handler = async (batch: EventLogBatch) => {
    undecodable.push(...batch.undecodable);
    await batch.heartbeat();
    const delivery = {
      partition: batch.records[0]?.partition ?? -1,
      offsets: batch.records.map((item) => BigInt(item.offset)),
      eventIds: batch.records.map((item) => item.record.eventId),
      committed: false,
    };
    deliveries.push(delivery);
    if (fail(batch)) throw new Error('handler failed on purpose');
    delivery.committed = true;
    committed.push(...batch.records);
  };
  return { handler, deliveries, committed, undecodable };
}

function expectSameRecord(actual: IngressRecord, expected: IngressRecord): void {
  expect({ ...actual, rawBody: null }).toEqual({ ...expected, rawBody: null });
  expect(Buffer.isBuffer(actual.rawBody)).toBe(true);
  expect(actual.rawBody.equals(expected.rawBody)).toBe(true);
}

/** The behaviour the persist step relies on (DESIGN.md §4), from whichever log backs it. */
export function eventLogContract(name: string, make: () => Promise<EventLogUnderTest>, traits: EventLogTraits): void {
  describe(`event log contract: ${name}`, () => {
    let producer: EventLogProducer;
    let consumer: EventLogConsumer;
    let cleanup: () => Promise<void>;
    const within = traits.deliveryTimeoutMs;
    const testTimeout = within * 2 + 10_000;

    beforeEach(async () => {
      ({ producer, consumer, cleanup } = await make());
      await producer.start();
    });
    afterEach(async () => {
      await cleanup();
    });

    const expectKafkaPlacement = (item: LoggedRecord) => {
      expect(item.partition).toBe(javaPartitionFor(partitionKeyOf(item.record), traits.partitions));
    };

    it(
      'hands every published record to the handler once, with identical fields and body bytes',
      async () => {
        const integrationId = randomUUID();
        const records = [
          ingressRecord({ integrationId }),
          ingressRecord({ integrationId, eventType: null, orderingKey: null, sourceIp: null, headers: {} }),
          ingressRecord({ integrationId, orderingKey: 'customer-42', sourceIp: '2001:db8::1' }),
          // Not UTF-8, not JSON: the body must travel as bytes.
          ingressRecord({ integrationId, rawBody: Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x80]), randomBytes(64)]) }),
          ingressRecord({ integrationId, rawBody: randomBytes(200_000) }),
          ingressRecord({ integrationId, rawBody: Buffer.from('{}') }),
          ingressRecord({ integrationId, rawBody: Buffer.alloc(0) }),
        ];
        const seen = recorder();
        await consumer.start(seen.handler);
        await Promise.all(records.map((record) => producer.publish(record)));
        await eventually(() => (seen.committed.length >= records.length ? true : undefined), within);
        await sleep(200);
        expect(seen.undecodable).toEqual([]);
        expect(seen.committed).toHaveLength(records.length);
        for (const expected of records) {
          const matches = seen.committed.filter((item) => item.record.eventId === expected.eventId);
          expect(matches).toHaveLength(1);
          expectSameRecord(matches[0]!.record, expected);
          expectKafkaPlacement(matches[0]!);
        }
      },
      testTimeout,
    );

    it(
      'keeps the records of one key in publish order, across many records and a few keys',
      async () => {
        const integrationId = randomUUID();
        const keys = ['order-a', 'order-b', 'order-c', 'order-d'];
        const perKey = 60;
        const records: IngressRecord[] = [];
        for (let sequence = 0; sequence < perKey; sequence++) {
          for (const key of keys) records.push(ingressRecord({ integrationId, orderingKey: key, eventKey: `${key}:${sequence}` }));
        }
        const seen = recorder();
        await consumer.start(seen.handler);
        // Published concurrently, as ingress does; the log's order is the order of the calls.
        await Promise.all(records.map((record) => producer.publish(record)));
        await eventually(() => (seen.committed.length >= records.length ? true : undefined), within);
        for (const key of keys) {
          const ofKey = seen.committed.filter((item) => item.record.orderingKey === key);
          expect(ofKey.map((item) => Number(item.record.eventKey.split(':')[1]))).toEqual(Array.from({ length: perKey }, (_, i) => i));
          expect(new Set(ofKey.map((item) => item.partition)).size).toBe(1);
          expectKafkaPlacement(ofKey[0]!);
          // Offsets grow along the partition.
          const offsets = ofKey.map((item) => BigInt(item.offset));
          expect(offsets.every((offset, i) => i === 0 || offset > offsets[i - 1]!)).toBe(true);
        }
      },
      testTimeout,
    );

    it(
      'retries a batch whose handler failed, losing nothing and delivering nothing behind it first',
      async () => {
        const integrationId = randomUUID();
        const keys = ['stalled', 'other-1', 'other-2'];
        const records: IngressRecord[] = [];
        for (let sequence = 0; sequence < 30; sequence++) {
          for (const key of keys) records.push(ingressRecord({ integrationId, orderingKey: key, eventKey: `${key}:${sequence}` }));
        }
        const target = records.find((record) => record.eventKey === 'stalled:10')!;
        let failed = false;
        const seen = recorder((batch) => {
          if (failed || !batch.records.some((item) => item.record.eventId === target.eventId)) return false;
          failed = true;
          return true;
        });
        await consumer.start(seen.handler);
        await Promise.all(records.map((record) => producer.publish(record)));
        await eventually(() => (seen.committed.length >= records.length ? true : undefined), within);
        await sleep(200);

        // Nothing lost, nothing committed twice, order kept.
        expect(seen.committed).toHaveLength(records.length);
        expect(new Set(seen.committed.map((item) => item.record.eventId)).size).toBe(records.length);
        for (const key of keys) {
          const ofKey = seen.committed.filter((item) => item.record.orderingKey === key);
          expect(ofKey.map((item) => Number(item.record.eventKey.split(':')[1]))).toEqual(Array.from({ length: 30 }, (_, i) => i));
        }
        // The very next delivery from the stalled partition starts again at or before the failed record.
        const failedAt = seen.deliveries.findIndex((delivery) => !delivery.committed);
        expect(failedAt).toBeGreaterThanOrEqual(0);
        const failedDelivery = seen.deliveries[failedAt]!;
        const next = seen.deliveries.slice(failedAt + 1).find((delivery) => delivery.partition === failedDelivery.partition)!;
        expect(next.eventIds).toContain(target.eventId);
        expect(next.offsets[0]).toBeLessThanOrEqual(failedDelivery.offsets[0]!);
      },
      testTimeout,
    );

    if (traits.acknowledges === 'after-commit') {
      it(
        'resolves publish only after the handler that received the record has resolved',
        async () => {
          let openGate!: () => void;
          const gate = new Promise<void>((resolve) => (openGate = resolve));
          let handlerCalled = false;
          let handlerResolved = false;
          await consumer.start(async () => {
            handlerCalled = true;
            await gate;
            handlerResolved = true;
          });
          let resolvedAfterHandler: boolean | undefined;
          const published = producer.publish(ingressRecord()).then(() => {
            resolvedAfterHandler = handlerResolved;
          });
          await eventually(() => (handlerCalled ? true : undefined), within);
          await sleep(100);
          expect(resolvedAfterHandler).toBeUndefined();
          openGate();
          await published;
          expect(resolvedAfterHandler).toBe(true);
        },
        testTimeout,
      );
    } else {
      it(
        'resolves publish once the log holds the record, and the consumer reads it later',
        async () => {
          const record = ingressRecord();
          await producer.publish(record);
          const seen = recorder();
          await consumer.start(seen.handler);
          await eventually(() => (seen.committed.length >= 1 ? true : undefined), within);
          expect(seen.committed).toHaveLength(1);
          expectSameRecord(seen.committed[0]!.record, record);
        },
        testTimeout,
      );
    }
  });
}
