import type { BenchMachine } from './bench-run.js';
import type { CpuShares } from './cpu-meter.js';
import { formatCpuSummary } from './cpu-profile.js';
import type { ProfileEntry } from './ingress-report.js';
import type { RawPersistResult } from './persist-raw.js';

/** What `npm run bench -- persist` found, as written to `bench-results/<run>/persist.json`. */
export interface PersistReport {
  bench: 'persist';
  runId: string;
  date: string;
  /** The commit measured, `+changes` when src/ differed from it. */
  commit: string;
  command: string;
  machine: BenchMachine;
  events: number;
  bodyBytes: number;
  partitions: number;
  prefill: { seconds: number; eventsPerSecond: number; valueMiB: number };
  hookgate: HookgatePersistFigures;
  raw: { events: RawPersistResult; full: RawPersistResult };
  /** Hookgate events/s (first row → all stored) ÷ each baseline's. */
  ratio: { eventsOnly: number; full: number };
  target: PersistTarget;
  checkpointed: boolean;
  cpuProfile: ProfileEntry | null;
}

export interface HookgatePersistFigures {
  /** Headline: from the first batch's transaction to the poll that saw every row. */
  fromFirstRow: { seconds: number; eventsPerSecond: number };
  /** From spawning the process: adds start-up, connecting and joining the consumer group. */
  fromStart: { seconds: number; eventsPerSecond: number };
  batches: { transactions: number; median: number; mean: number; min: number; max: number };
  rows: { events: number; auditEntries: number; deliveries: number };
  peakRssBytes: number | null;
  cpu: CpuShares;
  exit: { code: number | null; signal: string | null; killed: boolean };
}

/** The issues' target: ≥ 60% of the raw batched INSERT's rate (issue 10) and ≥ 5,000 events/s. */
export const PERSIST_TARGET = { minRatio: 0.6, minEventsPerSecond: 5_000 } as const;

export interface PersistTarget {
  minRatio: number;
  minEventsPerSecond: number;
  /** The issue read literally: the rate, and the ratio to the raw INSERT of the event rows alone. */
  met: boolean;
  rateMet: boolean;
  ratioMet: { eventsOnly: boolean; full: boolean };
}

const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}%`;
const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const cores = (value: number | null | undefined) => (value === null || value === undefined ? 'n/a' : value.toFixed(2));
const seconds = (value: number) => `${value.toFixed(1)} s`;

export function checkPersistTarget(hookgateRate: number, ratio: PersistReport['ratio']): PersistTarget {
  const rateMet = hookgateRate >= PERSIST_TARGET.minEventsPerSecond;
  const ratioMet = { eventsOnly: ratio.eventsOnly >= PERSIST_TARGET.minRatio, full: ratio.full >= PERSIST_TARGET.minRatio };
  return { ...PERSIST_TARGET, met: rateMet && ratioMet.eventsOnly, rateMet, ratioMet };
}

type Row = [string, string, string, string];

function rows(report: PersistReport): Row[] {
  const { hookgate: h, raw } = report;
  const { events: e, full: f } = raw;
  const group = (shares: CpuShares, name: string) => cores(shares.groups[name]);
  return [
    ['events per second', integer(e.eventsPerSecond), integer(f.eventsPerSecond), `**${integer(h.fromFirstRow.eventsPerSecond)}**`],
    ['time to store all events', seconds(e.seconds), seconds(f.seconds), seconds(h.fromFirstRow.seconds)],
    ['…from process start (events/s)', '–', '–', `${seconds(h.fromStart.seconds)} (${integer(h.fromStart.eventsPerSecond)})`],
    ['rows per transaction', `${e.batchSize}`, `${f.batchSize}`, `median ${h.batches.median}, mean ${integer(h.batches.mean)}, ${h.batches.min}–${h.batches.max}`],
    ['transactions', integer(e.transactions), integer(f.transactions), integer(h.batches.transactions)],
    ['peak RSS (VmHWM) of the writer', mib(e.peakRssBytes), mib(f.peakRssBytes), mib(h.peakRssBytes)],
    ['writer process CPU (cores)', cores(e.cpu.self), cores(f.cpu.self), group(h.cpu, 'hookgate')],
    ['Postgres sessions CPU (cores)', group(e.cpu, 'Postgres session'), group(f.cpu, 'Postgres session'), group(h.cpu, 'Postgres sessions')],
    ['Postgres WAL writer, checkpointer (cores)', group(e.cpu, 'Postgres writers'), group(f.cpu, 'Postgres writers'), group(h.cpu, 'Postgres writers')],
    ['Kafka broker CPU (cores)', '–', '–', group(h.cpu, 'Kafka broker')],
    ['Redis CPU (cores)', '–', '–', group(h.cpu, 'Redis')],
    ['bench poller CPU (cores)', '–', '–', cores(h.cpu.self)],
    ['rest of machine (cores)', cores(e.cpu.rest), cores(f.cpu.rest), cores(h.cpu.rest)],
  ];
}

function verdict(report: PersistReport): string {
  const { target, ratio } = report;
  const side = (met: boolean) => (met ? 'at or above' : 'below');
  return [
    `target: ≥ ${integer(target.minEventsPerSecond)} events/s and ≥ ${percent(target.minRatio)} of the raw INSERT — ${target.met ? 'met' : 'NOT met'}.`,
    `Rate: ${integer(report.hookgate.fromFirstRow.eventsPerSecond)} events/s, ${side(target.rateMet)} ${integer(target.minEventsPerSecond)}.`,
    `Ratio: ${percent(ratio.eventsOnly)} of raw events-only (${side(target.ratioMet.eventsOnly)} ${percent(target.minRatio)});`,
    `${percent(ratio.full)} of raw one-statement (${side(target.ratioMet.full)} ${percent(target.minRatio)})`,
  ].join(' ');
}

/** Above this much CPU taken by unrelated processes, a side's figures do not compare fairly. */
const INTERFERENCE_LIMIT_CORES = 0.25;

function notes(report: PersistReport): string[] {
  const sides: [string, CpuShares][] = [['raw events-only', report.raw.events.cpu], ['raw one-statement', report.raw.full.cpu], ['hookgate', report.hookgate.cpu]];
  const { exit } = report.hookgate;
  return [
    ...(exit.code !== 0 ? [`note: hookgate did not exit cleanly (code ${exit.code}, signal ${exit.signal}${exit.killed ? ', killed' : ''})`] : []),
    ...(report.checkpointed ? [] : ['note: CHECKPOINT was refused, so a side may have paid for the previous side\'s dirty pages']),
    ...sides
      .filter(([, cpu]) => (cpu.rest ?? 0) > INTERFERENCE_LIMIT_CORES)
      .map(([name, cpu]) => `warning: other processes used ${cores(cpu.rest)} cores while ${name} ran; the machine was not quiet, run it again`),
  ];
}

export function formatConsole(report: PersistReport): string {
  const header: Row = ['', 'raw events-only', 'raw one-statement', 'hookgate persist'];
  const all = [header, ...rows(report).map((row) => row.map((cell) => cell.replaceAll('**', '')) as Row)];
  const widths = [0, 1, 2, 3].map((column) => Math.max(...all.map((row) => row[column]!.length)));
  const line = (row: Row) => row.map((cell, index) => (index === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[index]!))).join('  ');
  return [
    `persist bench ${report.runId}: ${integer(report.events)} events of ${report.bodyBytes} B, ${report.partitions} partitions`,
    `pre-fill (not measured): ${seconds(report.prefill.seconds)}, ${integer(report.prefill.eventsPerSecond)} messages/s`,
    '',
    ...all.map(line),
    '',
    verdict(report),
    ...notes(report),
  ].join('\n');
}

export function formatMarkdown(report: PersistReport): string {
  const settings = Object.entries(report.machine.postgresSettings).map(([name, value]) => `${name}=${value}`).join(', ');
  return [
    `### Run ${report.runId} (${report.date}, commit ${report.commit})`,
    '',
    `\`${report.command}\` — ${integer(report.events)} events of ${report.bodyBytes} B on ${report.partitions} partitions, one enabled destination (so each event also gets its delivery row). ` +
      `Pre-fill, not measured: ${seconds(report.prefill.seconds)} (${integer(report.prefill.eventsPerSecond)} messages/s).`,
    '',
    '| | raw events-only | raw one-statement | hookgate persist |',
    '|---|---:|---:|---:|',
    ...rows(report).map((row) => `| ${row.join(' | ')} |`),
    '',
    `${verdict(report).replace(/^target/, 'Target')}.`,
    ...notes(report).map((note) => `\n${note[0]!.toUpperCase()}${note.slice(1)}.`),
    '',
    `Load average as the run began: ${report.machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' / ')}. Postgres ${report.machine.postgres} (${settings}).`,
    '',
    ...(report.cpuProfile ? ['Hookgate CPU profile, ' + formatCpuSummary(report.cpuProfile.summary)] : ['(no CPU profile was written)']),
  ].join('\n');
}
