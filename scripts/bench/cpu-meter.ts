import { clockTicksPerSecond, cpuTicks, machineBusyTicks } from './server-process.js';

/**
 * CPU used during a measured window, in cores (CPU seconds per second; 1.0 is one core kept
 * busy), per named group of processes. A group is a fixed list of pids or a finder run at both
 * ends, so that processes started meanwhile (a new Postgres session) count from zero. What no
 * group accounts for is "rest of machine": other people's work, or services nobody named.
 */

export type PidSource = number[] | (() => Promise<number[]>);

export interface CpuShares {
  wallSeconds: number;
  /** Per group; null when a fixed process could not be read at both ends. */
  groups: Record<string, number | null>;
  /** The measuring process itself (polling, or a baseline's own loop). */
  self: number;
  machine: number | null;
  rest: number | null;
}

type Snapshot = { groups: Map<string, Map<number, number | null>>; machine: number | null; self: NodeJS.CpuUsage; atMs: number };

async function snapshot(groups: Record<string, PidSource>): Promise<Snapshot> {
  const byGroup = new Map<string, Map<number, number | null>>();
  for (const [name, source] of Object.entries(groups)) {
    const pids = Array.isArray(source) ? source : await source().catch(() => []);
    const ticks = await Promise.all(pids.map(cpuTicks));
    byGroup.set(name, new Map(pids.map((pid, index) => [pid, ticks[index] ?? null])));
  }
  return { groups: byGroup, machine: await machineBusyTicks(), self: process.cpuUsage(), atMs: performance.now() };
}

export async function startCpuMeter(groups: Record<string, PidSource>): Promise<{ stop(): Promise<CpuShares> }> {
  const before = await snapshot(groups);
  return {
    async stop() {
      const after = await snapshot(groups);
      const wallSeconds = (after.atMs - before.atMs) / 1000;
      const perSecond = clockTicksPerSecond() * wallSeconds;
      const shares: Record<string, number | null> = {};
      for (const [name, source] of Object.entries(groups)) {
        const start = before.groups.get(name)!;
        const end = after.groups.get(name)!;
        // A fixed process unreadable at either end makes its group unknown; a process a finder
        // lists only at the end started meanwhile, and counts from zero.
        const fixed = Array.isArray(source);
        let known = !fixed || end.size > 0;
        let ticks = 0;
        for (const [pid, value] of end) {
          const earlier = start.get(pid);
          if (value === null || earlier === null) known &&= !fixed;
          else ticks += value - (earlier ?? 0);
        }
        shares[name] = known ? ticks / perSecond : null;
      }
      const selfUsed = process.cpuUsage(before.self);
      const self = (selfUsed.user + selfUsed.system) / 1e6 / wallSeconds;
      const machine = before.machine === null || after.machine === null ? null : (after.machine - before.machine) / perSecond;
      const named = Object.values(shares).reduce<number>((sum, value) => sum + (value ?? 0), 0);
      return { wallSeconds, groups: shares, self, machine, rest: machine === null ? null : Math.max(0, machine - named - self) };
    },
  };
}
