import type { DestinationCheck } from '../consumers/ssrf-guard.js';
import type { StatusPublisher } from '../consumers/status-events.js';
import type { Database } from '../db/client.js';
import type { PartitionLag } from '../ports/event-log.js';
import type { LiveFeed } from './live-feed.js';
import type { Loaders } from './loaders.js';
import type { IntegrationDirectory } from '../ingress/integration-directory.js';
import type { Logger } from '../log.js';

/** What every resolver may use; the database reaches resolvers only through here (STYLE.md §5). */
export interface GraphContext {
  db: Database;
  log: Logger;
  requestId: string;
  /** A non-secret name for the caller: `key:<hash prefix>` of the management key used. */
  actor: string;
  /** A read-only key (MANAGEMENT_READ_KEYS): every mutation answers ForbiddenError. */
  readOnly: boolean;
  sourceIp: string | null;
  integrations: IntegrationDirectory;
  /** Refuses destinations on internal networks (DESIGN.md §2). */
  destinationGuard: { check(url: string): Promise<DestinationCheck> };
  status: StatusPublisher;
  loaders: Loaders;
  live: LiveFeed;
  /** Persist-consumer lag per partition, from the event log. */
  consumerLag(): Promise<PartitionLag[]>;
  /** probeBaseMs: when a parked destination's first probe is due (issue 14; 5 s when unset). */
  settings: { retryCooldownMs: number; replayMaxEvents: number; probeBaseMs?: number };
}
