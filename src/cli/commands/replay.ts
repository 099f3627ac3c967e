import { ERROR_FIELDS, UsageError, expectType, graphql, type CliContext } from '../context.js';
import { flags, printJson, required, shortTime, table, type Command } from '../output.js';
import { EVENT_FILTER_USAGE, eventFilter, eventFilterOptions } from './event-filter.js';
import { requestedBy } from './events.js';

const USAGE = `usage: hookgate replay <bulk|list> [options]

  replay bulk [filters] --reason TEXT [--by NAME] [--dry-run]
                       replay every event matching the filters now (never later arrivals);
                       --dry-run only counts what it would cover
${EVENT_FILTER_USAGE}
  replay list          replay requests, newest first, with their progress
`;

async function bulk(ctx: CliContext, args: string[]) {
  const command = 'replay bulk';
  const { values, positionals } = flags(args, { ...eventFilterOptions, by: { type: 'string' }, reason: { type: 'string' }, 'dry-run': { type: 'boolean' } }, command);
  if (positionals.length) throw new UsageError(`${command}: unexpected "${positionals[0]}" (see \`hookgate replay -h\`)`);
  const filter = eventFilter(values, command);
  const dryRun = values['dry-run'] === true;
  const reason = dryRun ? (values.reason ?? 'dry run') : required(values.reason, '--reason', command);
  type Result = { __typename: string; message?: string; events?: number; deliveries?: number; id?: string; status?: string; total?: number };
  const data = await graphql<{ replayEvents: Result }>(
    ctx.cfg,
    `mutation ($input: ReplayEventsInput!) { replayEvents(input: $input) { ${ERROR_FIELDS}
       ... on ReplayPreview { events deliveries } ... on ReplayRequest { id status total } } }`,
    { input: { filter, requestedBy: requestedBy(values.by), reason, dryRun } },
  );
  const result = expectType(data.replayEvents, dryRun ? 'ReplayPreview' : 'ReplayRequest', command);
  if (ctx.json) return printJson(ctx, result);
  if (dryRun) ctx.out(`dry run: would replay ${result.events} events as ${result.deliveries} deliveries; nothing was created\n`);
  else ctx.out(`replay ${result.id}: ${result.status}, ${result.total} events (follow with \`hookgate replay list\`)\n`);
}

async function list(ctx: CliContext, args: string[]) {
  flags(args, {}, 'replay list');
  type Row = { id: string; status: string; processed: number; total: number; requestedBy: string; reason: string; eventId: string | null; createdAt: string };
  const data = await graphql<{ replayRequests: { edges: { node: Row }[] } }>(
    ctx.cfg,
    '{ replayRequests(first: 20) { edges { node { id status processed total requestedBy reason eventId createdAt } } pageInfo { hasNextPage endCursor } } }',
  );
  if (ctx.json) return printJson(ctx, data.replayRequests);
  const rows = data.replayRequests.edges.map(({ node }) => ({ ...node, progress: `${node.processed}/${node.total}`, createdAt: shortTime(node.createdAt), event: node.eventId ?? '(bulk)' }));
  ctx.out(table(rows, ['id', 'status', 'progress', 'event', 'requestedBy', 'createdAt', 'reason']));
}

export const replayCommand: Command = {
  name: 'replay',
  summary: 'bulk replay by filter (with --dry-run), list replay requests',
  usage: USAGE,
  async run(ctx, [sub, ...rest]) {
    if (sub === 'bulk') return bulk(ctx, rest);
    if (sub === 'list') return list(ctx, rest);
    throw new UsageError('replay: use `replay bulk …` or `replay list` (see `hookgate replay -h`)');
  },
};
