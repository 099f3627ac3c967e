import type { CpuProfileSummary } from './cpu-profile.js';
import { formatCpuSummary } from './cpu-profile.js';
import type { ServerFigures } from './measure.js';

/** What `npm run bench -- ingress` found, as written to `bench-results/<run>/ingress.json`. */
export interface IngressReport {
  bench: 'ingress';
  runId: string;
  date: string;
  /** The commit measured, `+changes` when src/ differed from it; `unknown` outside a git checkout. */
  commit: string;
  command: string;
  load: { connections: number; warmupSeconds: number; durationSeconds: number; bodyBytes: number; path: string };
  machine: MachineInfo;
  bare: ServerFigures;
  hookgate: ServerFigures;
  /** hookgate 2xx/s ÷ bare 2xx/s. */
  ratio: number;
  target: TargetCheck;
  cpuProfile: { hookgate: ProfileEntry | null; bare: ProfileEntry | null };
}

export interface ProfileEntry {
  file: string;
  summary: CpuProfileSummary;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  redis: string;
  kafkaBrokers: string[];
  /** 1, 5 and 15 minute load averages as the run began: other work on the machine skews the figures. */
  loadAverageAtStart: number[];
}

/** The target: ingress at ≥ 50% of the bare server's rate, p99 ≤ 50 ms, nothing but 2xx. */
export const INGRESS_TARGET = { minRatio: 0.5, maxP99Ms: 30 } as const;

export interface TargetCheck {
  minRatio: number;
  maxP99Ms: number;
  met: boolean;
  shortfalls: string[];
}

export function checkIngressTarget(hookgate: ServerFigures, ratio: number): TargetCheck {
  const shortfalls: string[] = [];
  if (ratio < INGRESS_TARGET.minRatio) shortfalls.push(`rate is ${percent(ratio)} of the bare server's, below ${percent(INGRESS_TARGET.minRatio)}`);
  if (hookgate.latencyMs.p99 > INGRESS_TARGET.maxP99Ms) shortfalls.push(`p99 is ${hookgate.latencyMs.p99} ms, above ${INGRESS_TARGET.maxP99Ms} ms`);
  if (hookgate.non2xx > 0) shortfalls.push(`${hookgate.non2xx} non-2xx answers`);
  if (hookgate.errors > 0) shortfalls.push(`${hookgate.errors} errors (${hookgate.timeouts} timeouts)`);
  return { ...INGRESS_TARGET, met: shortfalls.length === 0, shortfalls };
}

const percent = (ratio: number) => `${(100 * ratio).toFixed(1)}%`;
const integer = (value: number) => Math.round(value).toLocaleString('en-US');
const mib = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const cores = (value: number | null) => (value === null ? 'n/a' : value.toFixed(2));
const ms = (value: number) => `${value} ms`;
/** Cores over 2xx per second: the CPU time one accepted webhook cost that process. */
const perRequest = (busyCores: number | null, figures: ServerFigures) =>
  busyCores === null || figures.acceptedPerSecond <= 0 ? 'n/a' : `${Math.round((busyCores / figures.acceptedPerSecond) * 1e6)} µs`;
const codes = (figures: ServerFigures) =>
  Object.entries(figures.statusCodes)
    .map(([code, count]) => `${code}×${count}`)
    .join(', ') || 'none';

function rows(report: IngressReport): [string, string, string][] {
  const { bare, hookgate } = report;
  const serviceNames = [...new Set([...Object.keys(bare.serviceCpuCores), ...Object.keys(hookgate.serviceCpuCores)])];
  const pair = (name: string, pick: (figures: ServerFigures) => string): [string, string, string] => [name, pick(bare), pick(hookgate)];
  return [
    pair('2xx per second', (f) => integer(f.acceptedPerSecond)),
    pair('2xx total', (f) => integer(f.accepted)),
    pair('non-2xx', (f) => integer(f.non2xx)),
    pair('errors (timeouts)', (f) => `${f.errors} (${f.timeouts})`),
    pair('status codes', codes),
    pair('latency p50', (f) => ms(f.latencyMs.p50)),
    pair('latency p99', (f) => ms(f.latencyMs.p99)),
    pair('latency max', (f) => ms(f.latencyMs.max)),
    pair('peak RSS (VmHWM)', (f) => mib(f.peakRssBytes)),
    pair('server CPU (cores)', (f) => cores(f.serverCpuCores)),
    pair('client CPU (cores)', (f) => cores(f.clientCpuCores)),
    ...serviceNames.map((name) => pair(`${name} CPU (cores)`, (f) => cores(f.serviceCpuCores[name] ?? null))),
    pair('other processes CPU (cores)', (f) => cores(f.restOfMachineCpuCores)),
    pair('server CPU per 2xx', (f) => perRequest(f.serverCpuCores, f)),
    ...serviceNames.map((name) => pair(`${name} CPU per 2xx`, (f) => perRequest(f.serviceCpuCores[name] ?? null, f))),
  ];
}

function verdict(report: IngressReport): string {
  const { target } = report;
  const goal = `target: ≥ ${percent(target.minRatio)} of bare, p99 ≤ ${target.maxP99Ms} ms, no non-2xx`;
  return target.met ? `${goal} — met` : `${goal} — NOT met: ${target.shortfalls.join('; ')}`;
}

/** Above this much CPU taken by unrelated processes during a measurement, its figures are not comparable. */
export const INTERFERENCE_LIMIT_CORES = 0.15;

/** Servers that did not stop in order (their profile may be missing), and measurements other work disturbed. */
function notes(report: IngressReport): string[] {
  const figures = [report.bare, report.hookgate];
  return [
    ...figures
      .filter((f) => f.exit.code !== 0)
      .map((f) => `note: ${f.label} did not exit cleanly (code ${f.exit.code}, signal ${f.exit.signal}${f.exit.killed ? ', killed' : ''})`),
    ...figures
      .filter((f) => (f.restOfMachineCpuCores ?? 0) > INTERFERENCE_LIMIT_CORES)
      .map(
        (f) =>
          `warning: other processes used ${cores(f.restOfMachineCpuCores)} cores while ${f.label} was measured; ` +
          'the machine was not quiet, so this run does not compare fairly — run it again',
      ),
  ];
}

/** A plain table for the terminal. */
export function formatConsole(report: IngressReport): string {
  const header: [string, string, string] = ['', 'bare node:http', 'hookgate ingress'];
  const all = [header, ...rows(report)];
  const widths = [0, 1, 2].map((column) => Math.max(...all.map((row) => row[column]!.length)));
  const line = (row: [string, string, string]) =>
    `${row[0].padEnd(widths[0]!)}  ${row[1].padStart(widths[1]!)}  ${row[2].padStart(widths[2]!)}`;
  return [
    `ingress bench ${report.runId}: ${report.load.connections} connections, ${report.load.durationSeconds} s measured after ${report.load.warmupSeconds} s warm-up, ~${report.load.bodyBytes} B signed bodies`,
    '',
    ...all.map(line),
    '',
    `ratio (hookgate ÷ bare 2xx/s): ${percent(report.ratio)}`,
    verdict(report),
    ...notes(report),
  ].join('\n');
}

/** A block ready to paste into BENCHMARKS.md. */
export function formatMarkdown(report: IngressReport): string {
  const table = rows(report).map(([name, bare, hookgate]) => `| ${name} | ${bare} | ${hookgate} |`);
  const profile = report.cpuProfile.hookgate;
  return [
    `### Run ${report.runId} (${report.date}, commit ${report.commit})`,
    '',
    `\`${report.command}\` — ${report.load.connections} connections, ${report.load.warmupSeconds} s warm-up, ${report.load.durationSeconds} s measured, ~${report.load.bodyBytes} B bodies, each signed, each with a unique id.`,
    '',
    '| | bare node:http | hookgate ingress |',
    '|---|---:|---:|',
    ...table,
    '',
    `Ratio (hookgate ÷ bare 2xx/s): **${percent(report.ratio)}**. ${verdict(report).replace(/^target/, 'Target')}.`,
    ...notes(report).map((note) => `\n${note[0]!.toUpperCase()}${note.slice(1)}.`),
    '',
    `Load average as the run began: ${report.machine.loadAverageAtStart.map((value) => value.toFixed(2)).join(' / ')}.`,
    '',
    ...(profile ? ['Hookgate CPU profile, ' + formatCpuSummary(profile.summary)] : ['(no CPU profile was written)']),
  ].join('\n');
}
