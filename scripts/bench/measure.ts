import type { RequestData, Result } from 'autocannon';
import type { LoadSettings } from './bench-env.js';
import { runLoad } from './load.js';
import { clockTicksPerSecond, cpuTicks, machineBusyTicks, peakRssBytes, type ServerProcess } from './server-process.js';

/**
 * One server, one load: warm it up (not counted), measure, read its peak memory, stop it.
 * The same steps for the server under test and for its baseline, so their figures compare.
 */

export interface ServerFigures {
  label: string;
  measuredSeconds: number;
  accepted: number;
  acceptedPerSecond: number;
  responses: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  latencyMs: { average: number; p50: number; p90: number; p99: number; max: number };
  peakRssBytes: number | null;
  /** CPU seconds per second of measured time: 1.0 is one core kept busy. */
  serverCpuCores: number | null;
  clientCpuCores: number;
  /** The services the server talks to (Kafka broker, Redis), in cores, when their processes were found. */
  serviceCpuCores: Record<string, number>;
  /** Everything else the machine did meanwhile, in cores: interference from other work (and Postgres). */
  restOfMachineCpuCores: number | null;
  exit: { code: number | null; signal: string | null; killed: boolean };
}

export interface Measurement {
  figures: ServerFigures;
  /** The measured load on the monotonic clock, in microseconds (what `.cpuprofile` timestamps use). */
  windowUs: { startUs: number; endUs: number };
}

/** Summed CPU ticks per named group of processes; a group with an unreadable process is left out. */
async function serviceTicks(services: Record<string, number[]>): Promise<Record<string, number>> {
  const ticks: Record<string, number> = {};
  for (const [name, pids] of Object.entries(services)) {
    const each = await Promise.all(pids.map(cpuTicks));
    if (pids.length > 0 && each.every((value) => value !== null)) ticks[name] = each.reduce<number>((sum, value) => sum + value!, 0);
  }
  return ticks;
}

const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

export async function measureServer(options: {
  label: string;
  server: ServerProcess;
  url: string;
  load: LoadSettings;
  setupRequest: (request: RequestData) => RequestData;
  signal: AbortSignal;
  progress: (line: string) => void;
  /** Other processes whose CPU to report (by name), e.g. the broker; they are not ours to stop. */
  services?: Record<string, number[]>;
}): Promise<Measurement> {
  const { server, load, progress } = options;
  const loadFor = (durationSeconds: number) =>
    runLoad({ url: options.url, connections: load.connections, durationSeconds, setupRequest: options.setupRequest, signal: options.signal });

  progress(`${options.label}: warm-up, ${load.warmupSeconds} s at ${load.connections} connections`);
  await loadFor(load.warmupSeconds);
  options.signal.throwIfAborted();

  progress(`${options.label}: measuring, ${load.durationSeconds} s`);
  const serverTicksBefore = await cpuTicks(server.pid);
  const machineTicksBefore = await machineBusyTicks();
  const servicesBefore = await serviceTicks(options.services ?? {});
  const clientBefore = process.cpuUsage();
  const startUs = monotonicMicros();
  const result: Result = await loadFor(load.durationSeconds);
  const endUs = monotonicMicros();
  const clientUsed = process.cpuUsage(clientBefore);
  const serverTicksAfter = await cpuTicks(server.pid);
  const machineTicksAfter = await machineBusyTicks();
  const servicesAfter = await serviceTicks(options.services ?? {});
  options.signal.throwIfAborted();

  // Read before stopping: VmHWM is gone with the process.
  const peak = await peakRssBytes(server.pid);
  progress(`${options.label}: stopping`);
  const exit = await server.stop();

  const wallSeconds = (endUs - startUs) / 1e6;
  const ticksPerSecond = clockTicksPerSecond();
  const coresOf = (before: number | null, after: number | null) =>
    before === null || after === null ? null : (after - before) / ticksPerSecond / wallSeconds;
  const serverCpuCores = coresOf(serverTicksBefore, serverTicksAfter);
  const clientCpuCores = (clientUsed.user + clientUsed.system) / 1e6 / wallSeconds;
  const machineCores = coresOf(machineTicksBefore, machineTicksAfter);
  const serviceCpuCores: Record<string, number> = {};
  for (const [name, before] of Object.entries(servicesBefore)) {
    const cores = coresOf(before, servicesAfter[name] ?? null);
    if (cores !== null) serviceCpuCores[name] = cores;
  }
  const servicesTotal = Object.values(serviceCpuCores).reduce((sum, cores) => sum + cores, 0);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
  const figures: ServerFigures = {
    label: options.label,
    measuredSeconds: result.duration,
    accepted: result['2xx'],
    acceptedPerSecond: result['2xx'] / result.duration,
    responses: Object.values(statusCodes).reduce((sum, count) => sum + count, 0),
    non2xx: result.non2xx,
    statusCodes,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: {
      average: result.latency.average,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    peakRssBytes: peak,
    serverCpuCores,
    clientCpuCores,
    restOfMachineCpuCores:
      machineCores === null || serverCpuCores === null ? null : Math.max(0, machineCores - serverCpuCores - clientCpuCores - servicesTotal),
    serviceCpuCores,
    exit: { code: exit.code, signal: exit.signal, killed: exit.killed },
  };
  return { figures, windowUs: { startUs, endUs } };
}
