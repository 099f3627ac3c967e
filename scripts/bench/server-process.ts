import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchError } from './errors.js';

/**
 * A server under test, run as a child process so that its CPU, memory and profile are its own
 * and not mixed with the load generator's.
 */
export interface ServerProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Settles when the process has exited, however that happened. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function startServerProcess(options: {
  name: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}): ServerProcess {
  // The child's output goes straight to a file: nothing of it passes through our event loop.
  const log = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  if (child.pid === undefined) throw new Error(`${options.name} did not start (see ${options.logFile})`);
  let running = true;
  void exited.then(() => {
    running = false;
  });

  return {
    name: options.name,
    pid: child.pid,
    logFile: options.logFile,
    exited,
    async stop(graceMs = 40_000) {
      if (!running) return { ...(await exited), killed: false };
      child.kill('SIGTERM');
      const graceful = await Promise.race([exited, sleep(graceMs).then(() => undefined)]);
      if (graceful) return { ...graceful, killed: false };
      child.kill('SIGKILL');
      return { ...(await exited), killed: true };
    },
  };
}

/** Polls `url` until it answers `status`; fails when the process exits first or time runs out. */
export async function waitUntilAnswering(server: ServerProcess, url: string, options: { status: number; timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((value) => {
    exit = value;
  });
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exit) throw new BenchError(`${server.name} exited (code ${exit.code}, signal ${exit.signal}) before it was ready; see ${server.logFile}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.status === options.status) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(200);
  }
  throw new BenchError(`${server.name} was not ready within ${options.timeoutMs} ms (${last}); see ${server.logFile}`);
}

/** Peak resident set size (VmHWM) of a live process, in bytes; null when it cannot be read. */
export async function peakRssBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) a live process has used so far, in clock ticks; null when unreadable. */
export async function cpuTicks(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the fields after its last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of proc(5), i.e. 11 and 12 after the name.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** The unit of `cpuTicks` (USER_HZ, almost always 100). */
export function clockTicksPerSecond(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2_000 }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/** Busy CPU time of the whole machine so far (all CPUs, everything but idle and iowait), in clock ticks. */
export async function machineBusyTicks(): Promise<number | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
    // cpu  user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>((sum, value) => sum + (value ?? 0), 0);
    return Number.isFinite(busy) && idle !== undefined && iowait !== undefined ? busy : null;
  } catch {
    return null;
  }
}

/** Pids of running processes whose command line matches, e.g. the Kafka broker's `kafka.Kafka`. */
export async function findProcesses(matches: (commandLine: string) => boolean): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const commandLine = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (matches(commandLine)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}
