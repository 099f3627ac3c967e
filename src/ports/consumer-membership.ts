import { causes } from '../log-errors.js';

/**
 * Keeps a broker restart from leaving stale members in a consumer group.
 *
 * Why: every time a kafkajs consumer crashes — its coordinator lookup gives up while the broker is
 * going down (`KafkaJSGroupCoordinatorNotFound`), its fetch manager finds no broker
 * (`KafkaJSNoBrokerAvailableError`), its first join meets "the coordinator is loading" — it starts
 * again as a NEW member, and its old member could not leave the group because the broker was
 * away. The group the broker reloads still holds that old member, and the next rebalance waits out
 * its whole session timeout: 7 s with nothing stored after a broker restart, in the chaos runs.
 *
 * Two remedies, on the consumers' client only:
 * - a coordinator lookup that kafkajs gave up on is tried again (every 100–500 ms, until the
 *   consumer stops) instead of crashing the consumer, so the member keeps its id;
 * - when a consumer joins afresh (no member id) after having been a member, it first tells the
 *   coordinator that its previous member has left, so the rebalance does not wait for it.
 *
 * kafkajs has no setting for either. Each `kafka.consumer()` builds its own cluster through a
 * private factory on the client object, and keeps that cluster across its own restarts; this
 * wraps the factory of one client (whose other clusters, a dead-letter producer and a topic admin,
 * never look a group up).
 */

export const LOOKUP_GAVE_UP = 'KafkaJSGroupCoordinatorNotFound';
const FACTORY = 'private:Kafka:createCluster';

type Lookup = (params: { groupId: string; coordinatorType?: number }) => Promise<unknown>;
interface ClusterLike {
  findGroupCoordinator: Lookup;
}
interface JoinRequest {
  groupId: string;
  memberId?: string;
}
interface CoordinatorLike {
  joinGroup(request: JoinRequest): Promise<{ memberId: string }>;
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
}

export interface MembershipEvents {
  /** A lookup kafkajs gave up on is tried again (attempt counts from 1 per lookup). */
  onLookupRetry?(attempt: number): void;
  /** A previous member of this consumer was removed from the group before it joined again. */
  onStaleMemberLeft?(memberId: string): void;
}

const gaveUp = (error: unknown) => causes(error).some((cause) => cause.name === LOOKUP_GAVE_UP);

/**
 * Wraps one cluster: its coordinator lookups retry while `keepTrying()`, and the coordinator it
 * returns removes this consumer's previous members before a fresh join.
 */
export function manageMembership(cluster: ClusterLike, keepTrying: () => boolean, events: MembershipEvents = {}): void {
  const lookup = cluster.findGroupCoordinator.bind(cluster);
  // Per group: the member id this consumer holds now, and earlier ones that may still be listed.
  const current = new Map<string, string>();
  const stale = new Map<string, Set<string>>();

  const forget = (groupId: string, memberId: string) => {
    if (current.get(groupId) === memberId) current.delete(groupId);
    stale.get(groupId)?.delete(memberId);
  };

  async function joinGroup(coordinator: CoordinatorLike, request: JoinRequest) {
    const { groupId } = request;
    if (!request.memberId) {
      // Joining afresh: whatever id this consumer had before is stale by definition.
      const previous = current.get(groupId);
      const earlier = stale.get(groupId) ?? new Set<string>();
      if (previous) earlier.add(previous);
      current.delete(groupId);
      stale.set(groupId, earlier);
      for (const memberId of [...earlier]) {
        try {
          await coordinator.leaveGroup({ groupId, memberId });
          earlier.delete(memberId);
          events.onStaleMemberLeft?.(memberId);
        } catch (error) {
          // Already gone (the group expired it or never loaded it): nothing left to do. Any other
          // failure (the coordinator is still loading) is tried again at the next fresh join.
          if ((error as { type?: string }).type === 'UNKNOWN_MEMBER_ID') earlier.delete(memberId);
        }
      }
    }
    const joined = await coordinator.joinGroup(request);
    current.set(groupId, joined.memberId);
    return joined;
  }

  const wrapCoordinator = (coordinator: CoordinatorLike) =>
    new Proxy(coordinator, {
      get(target, property) {
        if (property === 'joinGroup') return (request: JoinRequest) => joinGroup(target, request);
        if (property === 'leaveGroup')
          return async (request: { groupId: string; memberId: string }) => {
            const answer = await target.leaveGroup(request);
            forget(request.groupId, request.memberId);
            return answer;
          };
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });

  cluster.findGroupCoordinator = async (params) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const coordinator = await lookup(params);
        return coordinator && typeof (coordinator as CoordinatorLike).joinGroup === 'function' ? wrapCoordinator(coordinator as CoordinatorLike) : coordinator;
      } catch (error) {
        if (!gaveUp(error) || !keepTrying()) throw error;
        events.onLookupRetry?.(attempt);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 100 * attempt)));
      }
    }
  };
}

/**
 * Installs `manageMembership` on every cluster this kafkajs client creates from now on. Returns
 * false when the client does not have the factory this relies on (a kafkajs other than 2.x): the
 * caller logs it, and consumers then behave as plain kafkajs does.
 */
export function manageConsumerMembership(kafka: object, keepTrying: () => boolean, events?: MembershipEvents): boolean {
  const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === FACTORY);
  const client = kafka as Record<symbol, unknown>;
  const create = key === undefined ? undefined : client[key];
  if (key === undefined || typeof create !== 'function') return false;
  client[key] = (...args: unknown[]) => {
    const cluster = (create as (...a: unknown[]) => ClusterLike)(...args);
    if (typeof cluster?.findGroupCoordinator === 'function') manageMembership(cluster, keepTrying, events);
    return cluster;
  };
  return true;
}
