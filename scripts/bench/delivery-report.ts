import type { LatencyFigures } from './delivery-latency.js';
import type { BenchMachine } from './bench-run.js';
import type { CpuShares } from './cpu-meter.js';
import { formatCpuSummary } from './cpu-profile.js';
import type { ProfileEntry } from './ingress-report.js';
import type { RawSenderResult } from './raw-sender.js';

/** What `npm run bench -- delivery` found, as written to `bench-results/<run>/delivery.json`. */
export interface DeliveryReport {
  bench: 'delivery';
  runId: string;
  date: string;
  /** The commit measured, `+changes` when src/ differed from it. */
  commit: string;
  command: string;
  machine: BenchMachine;
  deliveries: number;
  bodyBytes: number;
  rounds: DeliveryRound[];
  /** Stored→delivered at a steady rate (see delivery-latency.ts). */
  latency?: LatencyFigures;
  checkpointed: boolean;
}

/** One concurrency: the raw loop and Hookgate, each posting every delivery once. */
export interface DeliveryRound {
  concurrency: number;
  raw: RawSenderResult;
  hookgate: HookgateDeliveryFigures;
  /** Hookgate deliveries/s (first attempt → last completion) ÷ raw requests/s. */
  ratio: number;
  met: boolean;
  shortfalls: string[];
  cpuProfile: ProfileEntry | null;
}

export interface HookgateDeliveryFigures {
  /** Headline: first attempt's start to the last delivery's completion, both as Hookgate recorded them. */
  fromFirstAttempt: { seconds: number; deliveriesPerSecond: number };
  /** From spawning the process to the poll that saw every delivery SUCCEEDED. */
  fromStart: { seconds: number; deliveriesPerSecond: number };
  succeeded: number;
  attempts: number;
  non2xxAttempts: number;
  receivedByReceiver: number;
  /** delivery_attempts.duration_ms (whole milliseconds). */
  durationMs: { p50: number; p99: number; max: number };
  /** Commits in the database per delivery: claims, work loads and attempt transactions together. */
  transactionsPerDelivery: number | null;
  peakRssBytes: number | null;
  cpu: CpuShares;
  exit: { code: number | null; signal: string | null; killed: boolean };
}

export const DELIVERY_TARGET = { minRatio: 0.5 } as const;

const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}%`;
const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const cores = (value: number | null | undefined) => (value === null || value === undefined ? 'n/a' : value.toFixed(2));
const ms = (value: number) => `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms`;
const seconds = (value: number) => `${value.toFixed(1)} s`;

export function checkDeliveryTarget(hookgate: HookgateDeliveryFigures, raw: RawSenderResult, deliveries: number): Pick<DeliveryRound, 'ratio' | 'met' | 'shortfalls'> {
  const ratio = hookgate.fromFirstAttempt.deliveriesPerSecond / raw.requestsPerSecond;
  const shortfalls: string[] = [];
  if (ratio < DELIVERY_TARGET.minRatio) shortfalls.push(`${percent(ratio)} of the raw loop's rate is below ${percent(DELIVERY_TARGET.minRatio)}`);
  if (hookgate.succeeded !== deliveries) shortfalls.push(`${hookgate.succeeded} of ${deliveries} deliveries succeeded`);
  if (hookgate.non2xxAttempts > 0) shortfalls.push(`${hookgate.non2xxAttempts} attempts without a 2xx`);
  if (raw.failed > 0) shortfalls.push(`the raw loop had ${raw.failed} failed requests`);
  return { ratio, met: shortfalls.length === 0, shortfalls };
}

type Cells = [string, ...string[]];

function rows(report: DeliveryReport): Cells[] {
  const both = (name: string, raw: (r: RawSenderResult) => string, hookgate: (h: HookgateDeliveryFigures) => string): Cells => [
    name,
    ...report.rounds.flatMap((round) => [raw(round.raw), hookgate(round.hookgate)]),
  ];
  const group = (shares: CpuShares, name: string) => cores(shares.groups[name]);
  return [
    both('deliveries per second', (r) => integer(r.requestsPerSecond), (h) => `**${integer(h.fromFirstAttempt.deliveriesPerSecond)}**`),
    both(`time for ${integer(report.deliveries)}`, (r) => seconds(r.seconds), (h) => seconds(h.fromFirstAttempt.seconds)),
    both('…from process start (deliveries/s)', () => '–', (h) => `${seconds(h.fromStart.seconds)} (${integer(h.fromStart.deliveriesPerSecond)})`),
    both('2xx / received by the receiver', (r) => `${integer(r.ok)} / ${integer(r.ok + r.failed)}`, (h) => `${integer(h.succeeded)} / ${integer(h.receivedByReceiver)}`),
    both('POST duration p50', (r) => ms(r.durationMs.p50), (h) => ms(h.durationMs.p50)),
    both('POST duration p99', (r) => ms(r.durationMs.p99), (h) => ms(h.durationMs.p99)),
    both('POST duration max', (r) => ms(r.durationMs.max), (h) => ms(h.durationMs.max)),
    both('Postgres commits per delivery', () => '–', (h) => (h.transactionsPerDelivery === null ? 'n/a' : h.transactionsPerDelivery.toFixed(2))),
    both('peak RSS (VmHWM) of the sender', (r) => mib(r.peakRssBytes), (h) => mib(h.peakRssBytes)),
    both('sender CPU (cores)', (r) => cores(r.cpu.self), (h) => group(h.cpu, 'hookgate')),
    both('receiver CPU (cores)', (r) => group(r.cpu, 'receiver'), (h) => group(h.cpu, 'receiver')),
    both('Postgres sessions CPU (cores)', () => '–', (h) => group(h.cpu, 'Postgres sessions')),
    both('Postgres WAL writer, checkpointer (cores)', () => '–', (h) => group(h.cpu, 'Postgres writers')),
    both('Redis CPU (cores)', () => '–', (h) => group(h.cpu, 'Redis')),
    both('rest of machine (cores)', (r) => cores(r.cpu.rest), (h) => cores(h.cpu.rest)),
  ];
}

const header = (report: DeliveryReport): Cells => ['', ...report.rounds.flatMap((round) => [`raw loop, ${round.concurrency}`, `hookgate, ${round.concurrency}`])];

function verdicts(report: DeliveryReport): string[] {
  return report.rounds.map(
    (round) =>
      `concurrency ${round.concurrency}: ratio hookgate ÷ raw ${percent(round.ratio)}; target ≥ ${percent(DELIVERY_TARGET.minRatio)} — ${
        round.met ? 'met' : `NOT met (${round.shortfalls.join('; ')})`
      }`,
  );
}

/** Above this much CPU taken by unrelated processes, a side's figures do not compare fairly. */
const INTERFERENCE_LIMIT_CORES = 0.25;

function notes(report: DeliveryReport): string[] {
  return report.rounds.flatMap((round) => [
    ...(round.hookgate.exit.code !== 0 ? [`note: hookgate (concurrency ${round.concurrency}) did not exit cleanly (code ${round.hookgate.exit.code}, signal ${round.hookgate.exit.signal})`] : []),
    ...([['raw loop', round.raw.cpu], ['hookgate', round.hookgate.cpu]] as const)
      .filter(([, cpu]) => (cpu.rest ?? 0) > INTERFERENCE_LIMIT_CORES)
      .map(([name, cpu]) => `warning: other processes used ${cores(cpu.rest)} cores while ${name} (concurrency ${round.concurrency}) ran; the machine was not quiet, run it again`),
  ]);
}

export function formatConsole(report: DeliveryReport): string {
  const all = [header(report), ...rows(report).map((row) => row.map((cell) => cell.replaceAll('**', '')) as Cells)];
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
  const line = (row: Cells) => row.map((cell, index) => (index === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[index]!))).join('  ');
  return [
    `delivery bench ${report.runId}: ${integer(report.deliveries)} deliveries of ${report.bodyBytes} B to a local receiver`,
    '',
    ...all.map(line),
    '',
    ...verdicts(report),
    ...notes(report),
  ].join('\n');
}

export function formatMarkdown(report: DeliveryReport): string {
  const head = header(report);
  const settings = Object.entries(report.machine.postgresSettings).map(([name, value]) => `${name}=${value}`).join(', ');
  return [
    `### Run ${report.runId} (${report.date}, commit ${report.commit})`,
    '',
    `\`${report.command}\` — ${integer(report.deliveries)} PENDING deliveries of ${report.bodyBytes} B bodies, one destination on 127.0.0.1, a receiver answering 200 at once; a fresh database per concurrency.`,
    '',
    `| ${head.join(' | ')} |`,
    `|---|${head.slice(1).map(() => '---:').join('|')}|`,
    ...rows(report).map((row) => `| ${row.join(' | ')} |`),
    '',
    ...verdicts(report).map((verdict) => `${verdict[0]!.toUpperCase()}${verdict.slice(1)}.`).join(' ').split('\n'),
    ...notes(report).map((note) => `\n${note[0]!.toUpperCase()}${note.slice(1)}.`),
    '',
    `Load average as the run began: ${report.machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' / ')}. Postgres ${report.machine.postgres} (${settings}).`,
    ...report.rounds.flatMap((round) => [
      '',
      ...(round.cpuProfile ? [`Hookgate CPU profile at concurrency ${round.concurrency}, ${formatCpuSummary(round.cpuProfile.summary)}`] : [`(no CPU profile at concurrency ${round.concurrency})`]),
    ]),
  ].join('\n');
}
