import {
  execute,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';
import type { DeliveryStatusChange, EventReceivedNotice } from '../consumers/status-events.js';
import type { Logger } from '../log.js';
import type { GraphContext } from './context.js';
import type { LiveFeed, LiveMessage } from './live-feed.js';
import { parseDeliveryStatusFilter, parseProviderFilter } from './schema/subscriptions.js';

/**
 * graphql-ws subscription fan-out that shares work. Subscribers whose operation has the same text,
 * operation name and variables form one group; each message is executed once per matching group
 * (with a fresh context, so fresh loaders), serialised once, and the same bytes are written to
 * every socket in the group behind its own `{"id":…,"type":"next","payload":` envelope.
 * Groups are indexed by their filter — (integration, event, status) for status changes, provider
 * for new events — so a message visits only the groups it matches, never every subscriber.
 */
export interface SubscriberSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

interface Group {
  key: string;
  indexKey: string;
  kind: LiveMessage['kind'];
  args: Omit<ExecutionArgs, 'contextValue' | 'rootValue'>;
  subscribers: Map<object, { prefix: string; socket: SubscriberSocket }>;
  /** Messages run one after another per group, so every subscriber sees them in order. */
  tail: Promise<void>;
  pending: number;
}

/** A subscriber whose socket holds more than this unsent is too slow to keep: it is closed. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Messages waiting in one group beyond this are dropped (and counted) rather than queued without bound. */
const MAX_PENDING_PER_GROUP = 10_000;
const OPEN = 1;

export function createFanOut(deps: { live: Pick<LiveFeed, 'listen'>; newContext: () => GraphContext; log: Logger }) {
  const groups = new Map<string, Group>();
  const byIndex = { deliveryStatus: new Map<string, Set<Group>>(), eventReceived: new Map<string, Set<Group>>() };
  const stats = { executions: 0, messages: 0, dropped: 0 };

  const statusKey = (integrationId: string | null, eventId: string | null, status: string | null) => `${integrationId ?? '*'}|${eventId ?? '*'}|${status ?? '*'}`;

  function candidates(message: LiveMessage): Group[] {
    const found: Group[] = [];
    const collect = (index: Map<string, Set<Group>>, key: string) => {
      const set = index.get(key);
      if (set) for (const group of set) found.push(group);
    };
    if (message.kind === 'deliveryStatus') {
      const { integrationId, eventId, status } = message.change;
      for (const i of [integrationId, null]) for (const e of [eventId, null]) for (const s of [status, null]) collect(byIndex.deliveryStatus, statusKey(i, e, s));
    } else {
      collect(byIndex.eventReceived, message.notice.provider ?? '*');
      if (message.notice.provider) collect(byIndex.eventReceived, '*');
    }
    return found;
  }

  async function run(group: Group, root: DeliveryStatusChange | EventReceivedNotice): Promise<void> {
    stats.executions += 1;
    // graphql-js itself, not yoga's executor (which would start a subscription for this document).
    const result = await execute({ ...group.args, contextValue: deps.newContext(), rootValue: root });
    const payload = JSON.stringify(result.errors ? { ...result, errors: result.errors.map(masked) } : result);
    for (const { prefix, socket } of group.subscribers.values()) {
      if (socket.readyState !== OPEN) continue;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        socket.close(1008, 'subscriber too slow');
        continue;
      }
      socket.send(`${prefix}${payload}}`);
    }
  }

  const stopListening = deps.live.listen((message) => {
    stats.messages += 1;
    const root = message.kind === 'deliveryStatus' ? message.change : message.notice;
    for (const group of candidates(message)) {
      if (group.kind !== message.kind) continue;
      if (group.pending >= MAX_PENDING_PER_GROUP) {
        stats.dropped += 1;
        continue;
      }
      group.pending += 1;
      group.tail = group.tail
        .then(() => run(group, root))
        .catch((error: unknown) => deps.log.error({ err: (error as Error).message }, 'subscription fan-out failed for one message'))
        .finally(() => {
          group.pending -= 1;
        });
    }
  });

  function remove(group: Group, handle: object) {
    group.subscribers.delete(handle);
    if (group.subscribers.size > 0) return;
    groups.delete(group.key);
    const index = byIndex[group.kind];
    const set = index.get(group.indexKey);
    set?.delete(group);
    if (set?.size === 0) index.delete(group.indexKey);
  }

  return {
    stats: () => ({ ...stats, groups: groups.size, subscribers: [...groups.values()].reduce((sum, group) => sum + group.subscribers.size, 0) }),
    stop: stopListening,
    /**
     * Serves a graphql-ws subscription if it is one this fan-out understands (a single root field,
     * deliveryStatusChanged or eventReceived); returns undefined otherwise, for the caller to use
     * the ordinary per-subscriber path. The iterator it returns never yields: messages go straight
     * to the socket; graphql-ws calls `return()` when the client completes or disconnects.
     */
    subscribe(
      args: ExecutionArgs,
      subscriber: { id: string; query: string; socket: SubscriberSocket },
    ): AsyncIterableIterator<ExecutionResult> | ExecutionResult | undefined {
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'subscription' || operation.selectionSet.selections.length !== 1) return undefined;
      const field = operation.selectionSet.selections[0]!;
      if (field.kind !== Kind.FIELD || (field.directives?.length ?? 0) > 0) return undefined;
      const kind = field.name.value === 'deliveryStatusChanged' ? 'deliveryStatus' : field.name.value === 'eventReceived' ? 'eventReceived' : undefined;
      if (!kind) return undefined;

      const fieldDef = args.schema.getSubscriptionType()?.getFields()[field.name.value];
      if (!fieldDef) return undefined;
      const variables = getVariableValues(args.schema, operation.variableDefinitions ?? [], (args.variableValues as Record<string, unknown>) ?? {});
      if (variables.errors) return { errors: variables.errors };
      let indexKey: string;
      try {
        const values = getArgumentValues(fieldDef, field as FieldNode, variables.coerced);
        if (kind === 'deliveryStatus') {
          const filter = parseDeliveryStatusFilter(values.filter);
          indexKey = statusKey(filter.integrationId, filter.eventId, filter.status);
        } else {
          indexKey = parseProviderFilter(values.provider) ?? '*';
        }
      } catch (error) {
        return { errors: [error instanceof GraphQLError ? error : new GraphQLError('invalid subscription arguments')] };
      }

      const key = JSON.stringify([subscriber.query, args.operationName ?? null, variables.coerced]);
      let group = groups.get(key);
      if (!group) {
        group = {
          key,
          indexKey,
          kind,
          args: { schema: args.schema, document: args.document, operationName: args.operationName, variableValues: args.variableValues },
          subscribers: new Map(),
          tail: Promise.resolve(),
          pending: 0,
        };
        groups.set(key, group);
        const index = byIndex[kind];
        const set = index.get(indexKey) ?? new Set<Group>();
        set.add(group);
        index.set(indexKey, set);
      }
      const handle = {};
      group.subscribers.set(handle, { prefix: `{"id":${JSON.stringify(subscriber.id)},"type":"next","payload":`, socket: subscriber.socket });
      const joined = group;
      return idleUntilReturned(() => remove(joined, handle));
    },
  };
}

export type FanOut = ReturnType<typeof createFanOut>;

/** As yoga masks: a GraphQLError thrown on purpose reaches the client, anything unexpected does not. */
function masked(error: GraphQLError) {
  if (error.originalError && !(error.originalError instanceof GraphQLError)) {
    return new GraphQLError('Unexpected error.', { nodes: error.nodes, path: error.path }).toJSON();
  }
  return error.toJSON();
}

function idleUntilReturned(onReturn: () => void): AsyncIterableIterator<ExecutionResult> {
  let finished = false;
  let wake: ((result: IteratorResult<ExecutionResult>) => void) | undefined;
  const finish = () => {
    if (!finished) {
      finished = true;
      onReturn();
    }
    wake?.({ done: true, value: undefined });
  };
  return {
    next: () => (finished ? Promise.resolve({ done: true, value: undefined }) : new Promise((resolve) => (wake = resolve))),
    return: () => {
      finish();
      return Promise.resolve({ done: true, value: undefined });
    },
    throw: (error: unknown) => {
      finish();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
