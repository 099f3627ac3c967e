import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * The embedded database belongs to one process: PGlite has no locking of its own, and a second
 * process opening the same folder aborts inside WebAssembly (or corrupts it). The first opener
 * writes `<folder>.lock` with its pid; the next one is refused with a sentence naming that
 * process, while a lock left by a dead process (SIGKILL, power cut) is taken over.
 */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
  ) {
    const command = holder.command ? ` (\`${holder.command}\`, since ${holder.since})` : '';
    super(
      `the embedded database in ${dataDir} is in use by process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}${command}: ` +
        'stop that process first (a running gateway has already applied the migrations), or set DATABASE_URL to share Postgres between processes',
    );
  }
}

interface LockHolder {
  pid: number;
  host: string;
  command?: string;
  since: string;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder's lock or throws DataDirBusyError; returns the function that releases it. */
export function lockDataDir(dataDir: string, command: string): () => void {
  const path = `${dataDir}.lock`;
  const mine: LockHolder = { pid: process.pid, host: hostname(), command, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
      const release = () => {
        if (readHolder(path)?.pid === process.pid) unlinkSync(path);
        process.off('exit', release);
      };
      // A process that exits without closing the database (process.exit, an uncaught error) still lets go.
      process.on('exit', release);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    // A holder on another host cannot be checked: it is taken at its word.
    if (holder && (holder.host !== mine.host || alive(holder.pid))) throw new DataDirBusyError(dataDir, holder);
    // Stale (its process is gone) or unreadable (a writer that died mid-write): take it over.
    try {
      unlinkSync(path);
    } catch {
      // another process took it over first; the next attempt sees its lock
    }
  }
  const holder = readHolder(path);
  throw new DataDirBusyError(dataDir, holder ?? { pid: 0, host: mine.host, since: 'unknown' });
}
