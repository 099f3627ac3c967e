import { userInfo } from 'node:os';
import { CommandFailed, ERROR_FIELDS, UsageError, expectType, graphql, isUuid, type CliContext } from '../context.js';
import { flags, nextPage, positiveInt, printJson, required, shortTime, table, type Command } from '../output.js';
import { EVENT_FILTER_USAGE, eventFilter, eventFilterOptions } from './event-filter.js';

const USAGE = `usage: hookgate events <list|show|replay> [options]

  events list [filters] [--first N] [--after CURSOR]
${EVENT_FILTER_USAGE}
  events show <event-id>               payload, deliveries and every attempt
  events replay <event-id> --reason TEXT [--by NAME] [--destination ID]
                                       deliver the stored event again (new deliveries, trigger REPLAY);
                                       --by defaults to your user name
`;

/** Who asked, for the audit trail: `--by`, else the operating-system user. */
export function requestedBy(by: string | undefined): string {
  if (by) return by;
  try {
    return userInfo().username || 'cli';
  } catch {
    return 'cli';
  }
}

type EventRow = { id: string; provider: string; eventKey: string; eventType: string | null; status: string; receivedAt: string };
type Page<T> = { edges: { node: T }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

async function list(ctx: CliContext, args: string[]) {
  const { values, positionals } = flags(args, { ...eventFilterOptions, first: { type: 'string' }, after: { type: 'string' } }, 'events list');
  if (positionals.length) throw new UsageError(`events list: unexpected "${positionals[0]}" (see \`hookgate events -h\`)`);
  const data = await graphql<{ events: Page<EventRow> }>(
    ctx.cfg,
    `query ($filter: EventFilter, $first: Int, $after: String) { events(filter: $filter, first: $first, after: $after) {
       edges { node { id provider eventKey eventType status receivedAt } } pageInfo { hasNextPage endCursor } } }`,
    { filter: eventFilter(values, 'events list'), first: positiveInt(values.first, '--first', 'events list') ?? 20, after: values.after },
  );
  if (ctx.json) return printJson(ctx, data.events);
  const rows = data.events.edges.map(({ node }) => ({ ...node, receivedAt: shortTime(node.receivedAt) }));
  ctx.out(table(rows, ['id', 'provider', 'eventKey', 'eventType', 'status', 'receivedAt']));
  nextPage(ctx, data.events.pageInfo, 'events list');
}

async function show(ctx: CliContext, args: string[]) {
  const { positionals } = flags(args, {}, 'events show');
  const id = required(positionals[0], 'the event id', 'events show');
  if (!isUuid(id)) throw new UsageError(`events show: "${id}" is not an event id (a UUID, as \`events list\` shows)`);
  type Attempt = { attemptNumber: number; statusCode: number | null; error: string | null; durationMs: number; at: string };
  type Delivery = { id: string; destination: { url: string }; status: string; trigger: string; attemptCount: number; nextAttemptAt: string | null; attempts: Attempt[] };
  const data = await graphql<{ event: (EventRow & { integrationId: string; payload: unknown; deliveries: Delivery[] }) | null }>(
    ctx.cfg,
    `query ($id: ID!) { event(id: $id) { id provider integrationId eventKey eventType status receivedAt payload
       deliveries { id status trigger attemptCount nextAttemptAt destination { url } attempts { attemptNumber statusCode error durationMs at } } } }`,
    { id },
  );
  const event = data.event;
  if (!event) throw new CommandFailed(`events show: no event ${id}`);
  if (ctx.json) return printJson(ctx, event);
  ctx.out(
    `event     ${event.id}\nprovider  ${event.provider}\nkey       ${event.eventKey}\ntype      ${event.eventType ?? '-'}\n` +
      `status    ${event.status}\nreceived  ${shortTime(event.receivedAt)}\n\npayload\n${JSON.stringify(event.payload, null, 2)}\n\ndeliveries\n`,
  );
  const rows = event.deliveries.flatMap((delivery) => [
    { delivery: delivery.id, destination: delivery.destination.url, status: delivery.status, trigger: delivery.trigger, attempt: '', code: '', at: shortTime(delivery.nextAttemptAt) },
    ...delivery.attempts.map((attempt) => ({
      delivery: '',
      destination: '',
      status: '',
      trigger: '',
      attempt: `#${attempt.attemptNumber} ${attempt.durationMs}ms`,
      code: attempt.statusCode ?? attempt.error ?? '-',
      at: shortTime(attempt.at),
    })),
  ]);
  ctx.out(table(rows, ['delivery', 'destination', 'status', 'trigger', 'attempt', 'code', 'at']));
}

async function replay(ctx: CliContext, args: string[]) {
  const { values, positionals } = flags(args, { by: { type: 'string' }, reason: { type: 'string' }, destination: { type: 'string' } }, 'events replay');
  const eventId = required(positionals[0], 'the event id', 'events replay');
  const reason = required(values.reason, '--reason', 'events replay');
  type Result = { __typename: string; message?: string; replayRequest?: { id: string }; deliveries?: { id: string; status: string; destinationId: string }[] };
  const data = await graphql<{ requestReplay: Result }>(
    ctx.cfg,
    `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { ${ERROR_FIELDS}
       ... on RequestReplayPayload { replayRequest { id } deliveries { id status destinationId } } } }`,
    { input: { eventId, requestedBy: requestedBy(values.by), reason, destinationId: values.destination } },
  );
  const result = expectType(data.requestReplay, 'RequestReplayPayload', 'events replay');
  if (ctx.json) return printJson(ctx, result);
  ctx.out(`replay ${result.replayRequest!.id}: ${result.deliveries!.length} new deliveries\n`);
  ctx.out(table(result.deliveries!, ['id', 'destinationId', 'status']));
}

export const eventsCommand: Command = {
  name: 'events',
  summary: 'list, show and replay stored events',
  usage: USAGE,
  async run(ctx, [sub, ...rest]) {
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'show') return show(ctx, rest);
    if (sub === 'replay') return replay(ctx, rest);
    throw new UsageError(`events: use \`events list\`, \`events show <id>\` or \`events replay <id>\` (see \`hookgate events -h\`)`);
  },
};
