import { CommandFailed, managementUrl, graphql } from '../context.js';
import { flags, printJson, table, type Command } from '../output.js';

/** `hookgate status`: the pipeline at a glance — health of the dependencies, deliveries by status, lag, dead letters. */
type ProcessingStatus = {
  deadLetteredCount: number;
  oldestPendingDeliveryAgeSeconds: number | null;
  deliveriesByStatus: { status: string; count: number }[];
  persistLag: { partition: number; lag: string }[] | null;
};

export const statusCommand: Command = {
  name: 'status',
  summary: 'the pipeline at a glance: health, deliveries by status, persist lag, dead letters',
  usage: 'usage: hookgate status [--json]\n\n  health of the management listener and its dependencies, deliveries by status,\n  the oldest due delivery, persist lag per partition and dead-lettered records\n',
  async run(ctx, args) {
    flags(args, {}, 'status');
    const url = `${managementUrl(ctx.cfg)}/api/v1/health`;
    const health = await fetch(url)
      .then(async (response) => (await response.json()) as Record<string, unknown>)
      .catch(() => {
        throw new CommandFailed(`cannot reach Hookgate at ${url}: is it running (npx hookgate start)?`);
      });
    const { processingStatus } = await graphql<{ processingStatus: ProcessingStatus }>(
      ctx.cfg,
      '{ processingStatus { deadLetteredCount oldestPendingDeliveryAgeSeconds deliveriesByStatus { status count } persistLag { partition lag } } }',
    );
    if (ctx.json) return printJson(ctx, { health, processing: processingStatus });
    const lag = processingStatus.persistLag?.reduce((sum, partition) => sum + BigInt(partition.lag), 0n);
    const age = processingStatus.oldestPendingDeliveryAgeSeconds;
    const dependencies = Object.entries((health.dependencies ?? {}) as Record<string, string>).map(([name, state]) => `${name} ${state}`);
    ctx.out(`health        ${String(health.status)} (${dependencies.join(', ')}; ${String(health.mode)} mode)\n`);
    ctx.out(`persist lag   ${lag === undefined ? 'unknown (event log not reachable)' : `${lag} messages`}\n`);
    ctx.out(`oldest due    ${age === null ? 'none waiting' : `${Math.round(age)} s`}\n`);
    ctx.out(`dead-lettered ${processingStatus.deadLetteredCount}\n\n`);
    ctx.out(table(processingStatus.deliveriesByStatus, ['status', 'count']));
  },
};
