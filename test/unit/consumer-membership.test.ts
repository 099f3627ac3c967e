import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { LOOKUP_GAVE_UP, manageConsumerMembership, manageMembership } from '../../src/ports/consumer-membership.js';

type Cluster = { findGroupCoordinator: (params: { groupId: string }) => Promise<unknown> };

const gaveUp = () => Object.assign(new Error('Failed to find group coordinator'), { name: LOOKUP_GAVE_UP });

/** A coordinator that hands out member ids and remembers who is in the group. */
function fakeCoordinator() {
  const members = new Set<string>();
  const calls: string[] = [];
  let next = 0;
  let loading = false;
  return {
    members,
    calls,
    setLoading: (value: boolean) => (loading = value),
    coordinator: {
      name: 'coordinator',
      async joinGroup({ memberId }: { groupId: string; memberId?: string }) {
        calls.push(`join:${memberId ?? ''}`);
        const id = memberId || `m${++next}`;
        members.add(id);
        return { memberId: id };
      },
      async leaveGroup({ memberId }: { groupId: string; memberId: string }) {
        calls.push(`leave:${memberId}`);
        if (loading) throw Object.assign(new Error('loading'), { type: 'COORDINATOR_LOAD_IN_PROGRESS' });
        if (!members.delete(memberId)) throw Object.assign(new Error('unknown'), { type: 'UNKNOWN_MEMBER_ID' });
        return {};
      },
      async heartbeat() {
        return this.name;
      },
    },
  };
}

type Coordinator = ReturnType<typeof fakeCoordinator>['coordinator'];

describe('consumer membership through broker restarts', () => {
  it('retries a coordinator lookup kafkajs gave up on, also when wrapped as a cause', async () => {
    let calls = 0;
    const cluster: Cluster = {
      findGroupCoordinator: async () => {
        calls += 1;
        if (calls === 1) throw gaveUp();
        if (calls === 2) throw Object.assign(new Error('non retriable'), { name: 'KafkaJSNonRetriableError', cause: gaveUp() });
        return 'found';
      },
    };
    const retries: number[] = [];
    manageMembership(cluster, () => true, { onLookupRetry: (attempt) => retries.push(attempt) });
    await expect(cluster.findGroupCoordinator({ groupId: 'g' })).resolves.toBe('found');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('passes other errors through at once, and stops retrying when the consumer stops', async () => {
    const other: Cluster = { findGroupCoordinator: async () => Promise.reject(new TypeError('bug')) };
    manageMembership(other, () => true);
    await expect(other.findGroupCoordinator({ groupId: 'g' })).rejects.toThrow('bug');

    let calls = 0;
    let keepTrying = true;
    const away: Cluster = {
      findGroupCoordinator: async () => {
        calls += 1;
        if (calls === 2) keepTrying = false;
        throw gaveUp();
      },
    };
    manageMembership(away, () => keepTrying);
    await expect(away.findGroupCoordinator({ groupId: 'g' })).rejects.toMatchObject({ name: LOOKUP_GAVE_UP });
    expect(calls).toBe(2);
  });

  it('a consumer that joins afresh first removes the member it was before', async () => {
    const group = fakeCoordinator();
    const cluster: Cluster = { findGroupCoordinator: async () => group.coordinator };
    const left: string[] = [];
    manageMembership(cluster, () => true, { onStaleMemberLeft: (id) => left.push(id) });
    const coordinator = (await cluster.findGroupCoordinator({ groupId: 'g' })) as Coordinator;

    expect((await coordinator.joinGroup({ groupId: 'g', memberId: '' })).memberId).toBe('m1');
    // A rejoin with its id (a rebalance) leaves nothing.
    await coordinator.joinGroup({ groupId: 'g', memberId: 'm1' });
    // A crash and restart: kafkajs joins with no id; m1 is still in the group the broker holds.
    const again = (await cluster.findGroupCoordinator({ groupId: 'g' })) as Coordinator;
    expect((await again.joinGroup({ groupId: 'g' })).memberId).toBe('m2');
    expect(group.calls).toEqual(['join:', 'join:m1', 'leave:m1', 'join:']);
    expect([...group.members]).toEqual(['m2']);
    expect(left).toEqual(['m1']);
    // Everything else reaches the real coordinator, bound to it.
    await expect(again.heartbeat()).resolves.toBe('coordinator');
  });

  it('keeps a stale member to remove while the coordinator is loading, and forgets one that left cleanly', async () => {
    const group = fakeCoordinator();
    const cluster: Cluster = { findGroupCoordinator: async () => group.coordinator };
    manageMembership(cluster, () => true);
    const coordinator = (await cluster.findGroupCoordinator({ groupId: 'g' })) as Coordinator;
    await coordinator.joinGroup({ groupId: 'g' });
    group.setLoading(true);
    await coordinator.joinGroup({ groupId: 'g' }); // m2; m1 could not be removed yet
    group.setLoading(false);
    await coordinator.joinGroup({ groupId: 'g' }); // m3; removes m1 and m2
    expect([...group.members]).toEqual(['m3']);

    await coordinator.leaveGroup({ groupId: 'g', memberId: 'm3' });
    group.calls.length = 0;
    await coordinator.joinGroup({ groupId: 'g' });
    expect(group.calls).toEqual(['join:']);
  });

  it('finds the cluster factory on the installed kafkajs and wraps the clusters it makes', () => {
    const kafka = new Kafka({ clientId: 't', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
    const factory = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
    expect(factory, 'kafkajs 2.x keeps a private cluster factory on the client').toBeDefined();
    const make = () => (kafka as unknown as Record<symbol, (options: object) => { findGroupCoordinator: unknown }>)[factory!]!({});
    const plain = make();
    expect(manageConsumerMembership(kafka, () => true)).toBe(true);
    expect(make().findGroupCoordinator).not.toBe(plain.findGroupCoordinator);
    expect(manageConsumerMembership({}, () => true)).toBe(false);
  });
});
