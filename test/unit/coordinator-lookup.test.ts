import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { LOOKUP_GAVE_UP, retryCoordinatorLookups, retryLookupsOf } from '../../src/ports/coordinator-lookup.js';

type Fake = { findGroupCoordinator: (params: { groupId: string }) => Promise<unknown> };

const gaveUp = () => Object.assign(new Error('Failed to find group coordinator'), { name: LOOKUP_GAVE_UP });

describe('coordinator lookup kept trying while the broker is away', () => {
  it('retries a lookup kafkajs gave up on, and answers once a broker does', async () => {
    let calls = 0;
    const cluster: Fake = {
      findGroupCoordinator: async () => {
        calls += 1;
        if (calls < 3) throw gaveUp();
        return { nodeId: 1 };
      },
    };
    const retries: number[] = [];
    retryLookupsOf(cluster, () => true, (attempt) => retries.push(attempt));
    await expect(cluster.findGroupCoordinator({ groupId: 'g' })).resolves.toEqual({ nodeId: 1 });
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('recognises the give-up when kafkajs wrapped it as a cause', async () => {
    let calls = 0;
    const cluster: Fake = {
      findGroupCoordinator: async () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('non retriable'), { name: 'KafkaJSNonRetriableError', cause: gaveUp() });
        return 'found';
      },
    };
    retryLookupsOf(cluster, () => true);
    await expect(cluster.findGroupCoordinator({ groupId: 'g' })).resolves.toBe('found');
  });

  it('passes other errors through at once, and stops trying when the consumer stops', async () => {
    const other: Fake = { findGroupCoordinator: async () => Promise.reject(new TypeError('bug')) };
    retryLookupsOf(other, () => true);
    await expect(other.findGroupCoordinator({ groupId: 'g' })).rejects.toThrow('bug');

    let calls = 0;
    let keepTrying = true;
    const away: Fake = {
      findGroupCoordinator: async () => {
        calls += 1;
        if (calls === 2) keepTrying = false;
        throw gaveUp();
      },
    };
    retryLookupsOf(away, () => keepTrying);
    await expect(away.findGroupCoordinator({ groupId: 'g' })).rejects.toMatchObject({ name: LOOKUP_GAVE_UP });
    expect(calls).toBe(2);
  });

  it('finds the cluster factory on the installed kafkajs and wraps the clusters it makes', () => {
    const kafka = new Kafka({ clientId: 't', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
    const factory = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
    expect(factory, 'kafkajs 2.x keeps a private cluster factory on the client').toBeDefined();
    const plain = (kafka as unknown as Record<symbol, (options: object) => { findGroupCoordinator: unknown }>)[factory!]!({});
    expect(retryCoordinatorLookups(kafka, () => true)).toBe(true);
    const wrapped = (kafka as unknown as Record<symbol, (options: object) => { findGroupCoordinator: unknown }>)[factory!]!({});
    expect(wrapped.findGroupCoordinator).not.toBe(plain.findGroupCoordinator);
    expect(retryCoordinatorLookups({}, () => true)).toBe(false);
  });
});
