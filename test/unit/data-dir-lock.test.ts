import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirBusyError, lockDataDir } from '../../src/db/data-dir-lock.js';

function folder() {
  return join(mkdtempSync(join(tmpdir(), 'hookgate-lock-')), 'pglite');
}

describe('the embedded data folder lock', () => {
  it('refuses a second holder while the first process lives, naming its pid and command', async () => {
    const dir = folder();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(`${dir}.lock`, JSON.stringify({ pid: sleeper.pid, host: (await import('node:os')).hostname(), command: 'hookgate start', since: '2026-12-03T10:00:00.000Z' }));
      let refused: unknown;
      try {
        lockDataDir(dir, 'hookgate migrate');
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(DataDirBusyError);
      expect((refused as Error).message).toContain(`in use by process ${sleeper.pid}`);
      expect((refused as Error).message).toContain('hookgate start');
      expect((refused as Error).message).not.toContain('\n');
      // The refused process left the holder's lock alone.
      expect(JSON.parse(readFileSync(`${dir}.lock`, 'utf8')).pid).toBe(sleeper.pid);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('takes over a lock whose process is gone, and releasing removes it', async () => {
    const dir = folder();
    const gone = spawn('true', { stdio: 'ignore' });
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(`${dir}.lock`, JSON.stringify({ pid: gone.pid, host: (await import('node:os')).hostname(), since: 'earlier' }));
    const release = lockDataDir(dir, 'hookgate start');
    expect(JSON.parse(readFileSync(`${dir}.lock`, 'utf8')).pid).toBe(process.pid);
    release();
    expect(existsSync(`${dir}.lock`)).toBe(false);
  });

  it('refuses the same process opening the folder twice', () => {
    const dir = folder();
    const release = lockDataDir(dir, 'first');
    try {
      expect(() => lockDataDir(dir, 'second')).toThrow(DataDirBusyError);
    } finally {
      release();
    }
  });
});
