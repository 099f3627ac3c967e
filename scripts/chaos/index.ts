import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runChaos, type ChaosReport } from './run-chaos.js';

/**
 * `npm run chaos` — the fault ledger on the real services (Kafka jars via Maven, Postgres, a
 * private redis-server). Options: --senders 32, --webhooks 10000, --runs 1, --profile full|ci.
 * Needs TEST_DATABASE_URL (or DATABASE_URL) of a Postgres that lets it create a database.
 */
const { values } = parseArgs({
  options: {
    senders: { type: 'string', default: '32' },
    webhooks: { type: 'string' },
    runs: { type: 'string', default: '1' },
    profile: { type: 'string', default: 'full' },
  },
});
const profile = values.profile === 'ci' ? 'ci' : 'full';
const postgresUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
if (!postgresUrl) {
  process.stderr.write('chaos: set TEST_DATABASE_URL (eval "$(npm run -s services:up)" prints it)\n');
  process.exit(2);
}

export function printReport(report: ChaosReport, say: (line: string) => void): void {
  say(`ledger (${(report.durationMs / 1000).toFixed(0)} s): ${JSON.stringify(report.counts)}`);
  for (const check of report.checks) say(`  ${check.ok ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
  for (const recovery of report.recoveries) {
    const met = recovery.ms !== null && recovery.ms <= recovery.targetMs;
    say(`  ${met ? 'ok  ' : 'SLOW'} ${recovery.fault}: ${recovery.measure} ${recovery.ms === null ? 'never' : `${recovery.ms} ms`} (target ${recovery.targetMs} ms)`);
  }
  say(`  log lines by process and level: ${JSON.stringify(report.logLines)}`);
}

const say = (line: string) => process.stdout.write(`${line}\n`);
let failures = 0;
const runs = Number(values.runs);
for (let index = 1; index <= runs; index++) {
  const report = await runChaos({
    profile,
    senders: Number(values.senders),
    webhooks: Number(values.webhooks ?? (profile === 'ci' ? 2_000 : 10_000)),
    postgresUrl,
    workDir: join(tmpdir(), `hookgate-chaos-${Date.now()}`),
    say,
  });
  printReport(report, say);
  const slow = report.recoveries.filter((recovery) => recovery.ms === null || recovery.ms > recovery.targetMs);
  const passed = report.ok && slow.length === 0;
  if (!passed) failures += 1;
  say(`run ${index}/${runs}: ${passed ? 'PASSED' : 'FAILED'} (logs in ${report.workDir})`);
}
process.exit(failures === 0 ? 0 : 1);
