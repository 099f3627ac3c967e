/**
 * Keeps a consumer's coordinator lookup trying while the broker is away.
 *
 * Why: kafkajs gives up looking for the group coordinator as soon as no broker it knows answers the
 * lookup with something it expects (`KafkaJSGroupCoordinatorNotFound`, not retriable). That
 * happens whenever the broker is going down under a busy consumer: a rejoin starts, the lookup meets
 * a closing connection, and the consumer crashes. Restarted, it joins as a NEW member, while the
 * group the broker reloads still holds the old one; the rebalance then waits out that member's
 * whole session timeout (seen in the chaos runs: 7 s with no event stored after a restart). A
 * lookup that keeps trying keeps the member id, so the group settles as soon as the broker is back.
 *
 * kafkajs has no setting for this. Each `kafka.consumer()` builds its own cluster through a private
 * factory on the client object; this wraps that factory on one client only (the consumers' client,
 * whose other clusters are a dead-letter producer and a topic admin that never look a group up).
 */

export const LOOKUP_GAVE_UP = 'KafkaJSGroupCoordinatorNotFound';
const FACTORY = 'private:Kafka:createCluster';

type Lookup = (params: { groupId: string; coordinatorType?: number }) => Promise<unknown>;
interface ClusterLike {
  findGroupCoordinator: Lookup;
}

function gaveUp(error: unknown): boolean {
  for (let current = error as { name?: string; cause?: unknown } | undefined, depth = 0; current && depth < 5; depth++) {
    if (current.name === LOOKUP_GAVE_UP) return true;
    current = current.cause as typeof current;
  }
  return false;
}

/**
 * Retries `cluster.findGroupCoordinator` after kafkajs gave up, every 100–500 ms, for as long as
 * `keepTrying()` says (false once the consumer is stopping). Other errors pass through unchanged.
 */
export function retryLookupsOf(cluster: ClusterLike, keepTrying: () => boolean, onRetry: (attempt: number) => void = () => {}): void {
  const lookup = cluster.findGroupCoordinator.bind(cluster);
  cluster.findGroupCoordinator = async (params) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await lookup(params);
      } catch (error) {
        if (!gaveUp(error) || !keepTrying()) throw error;
        onRetry(attempt);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 100 * attempt)));
      }
    }
  };
}

/**
 * Installs `retryLookupsOf` on every cluster this kafkajs client creates from now on. Returns false
 * when the client does not have the factory this relies on (a kafkajs other than 2.x): the caller
 * logs it, and consumers then behave as plain kafkajs does.
 */
export function retryCoordinatorLookups(kafka: object, keepTrying: () => boolean, onRetry?: (attempt: number) => void): boolean {
  const key = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === FACTORY);
  const client = kafka as Record<symbol, unknown>;
  const create = key === undefined ? undefined : client[key];
  if (key === undefined || typeof create !== 'function') return false;
  client[key] = (...args: unknown[]) => {
    const cluster = (create as (...a: unknown[]) => ClusterLike)(...args);
    if (typeof cluster?.findGroupCoordinator === 'function') retryLookupsOf(cluster, keepTrying, onRetry);
    return cluster;
  };
  return true;
}
