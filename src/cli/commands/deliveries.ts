import { ERROR_FIELDS, UsageError, expectType, graphql, type CliContext } from '../context.js';
import { flags, nextPage, oneOf, positiveInt, printJson, required, shortTime, table, timestamp, type Command } from '../output.js';
import { requestedBy } from './events.js';

export const DELIVERY_STATUSES = ['PENDING', 'IN_FLIGHT', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;

const USAGE = `usage: hookgate deliveries <list|retry> [options]

  deliveries list [--status S] [--event ID] [--destination ID] [--integration ID] [--since TIME]
                  [--first N] [--after CURSOR]
      --status S       ${DELIVERY_STATUSES.join(', ')}
  deliveries retry <delivery-id> --reason TEXT [--by NAME]
                       one more attempt at a FAILED delivery (a cooldown stops repeats)
`;

type DeliveryRow = { id: string; eventId: string; status: string; trigger: string; attemptCount: number; lastStatusCode: number | null; createdAt: string; destination: { url: string } };

async function list(ctx: CliContext, args: string[]) {
  const command = 'deliveries list';
  const { values, positionals } = flags(
    args,
    { status: { type: 'string' }, event: { type: 'string' }, destination: { type: 'string' }, integration: { type: 'string' }, since: { type: 'string' }, first: { type: 'string' }, after: { type: 'string' } },
    command,
  );
  if (positionals.length) throw new UsageError(`${command}: unexpected "${positionals[0]}" (see \`hookgate deliveries -h\`)`);
  const filter = {
    status: oneOf(values.status, DELIVERY_STATUSES, '--status', command),
    eventId: values.event,
    destinationId: values.destination,
    integrationId: values.integration,
    since: timestamp(values.since, '--since', command),
  };
  const data = await graphql<{ deliveries: { edges: { node: DeliveryRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
    ctx.cfg,
    `query ($filter: DeliveryFilter, $first: Int, $after: String) { deliveries(filter: $filter, first: $first, after: $after) {
       edges { node { id eventId status trigger attemptCount lastStatusCode createdAt destination { url } } } pageInfo { hasNextPage endCursor } } }`,
    { filter, first: positiveInt(values.first, '--first', command) ?? 20, after: values.after },
  );
  if (ctx.json) return printJson(ctx, data.deliveries);
  const rows = data.deliveries.edges.map(({ node }) => ({ ...node, destination: node.destination.url, createdAt: shortTime(node.createdAt), attempts: node.attemptCount, lastCode: node.lastStatusCode }));
  ctx.out(table(rows, ['id', 'eventId', 'destination', 'status', 'trigger', 'attempts', 'lastCode', 'createdAt']));
  nextPage(ctx, data.deliveries.pageInfo, command);
}

async function retry(ctx: CliContext, args: string[]) {
  const { values, positionals } = flags(args, { by: { type: 'string' }, reason: { type: 'string' } }, 'deliveries retry');
  const deliveryId = required(positionals[0], 'the delivery id', 'deliveries retry');
  const reason = required(values.reason, '--reason', 'deliveries retry');
  const data = await graphql<{ retryDelivery: { __typename: string; message?: string; code?: string; id?: string; status?: string } }>(
    ctx.cfg,
    `mutation ($input: RetryDeliveryInput!) { retryDelivery(input: $input) { ${ERROR_FIELDS} ... on ConflictError { code } ... on Delivery { id status } } }`,
    { input: { deliveryId, requestedBy: requestedBy(values.by), reason } },
  );
  const result = expectType(data.retryDelivery, 'Delivery', 'deliveries retry');
  if (ctx.json) return printJson(ctx, result);
  ctx.out(`delivery ${result.id}: ${result.status}\n`);
}

export const deliveriesCommand: Command = {
  name: 'deliveries',
  summary: 'list deliveries, retry a failed one',
  usage: USAGE,
  async run(ctx, [sub, ...rest]) {
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'retry') return retry(ctx, rest);
    throw new UsageError('deliveries: use `deliveries list` or `deliveries retry <id>` (see `hookgate deliveries -h`)');
  },
};
