import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, untilStarted } from '../helpers/processes.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO_ROOT, 'bin', 'hookgate.mjs');

const children = new Set<ReturnType<typeof spawn>>();

/** `hookgate …` as a separate process, as a user runs it; only PATH, HOME and `env` reach it. */
function hookgate(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

// The embedded database belongs to the gateway that opened it; everyone else is told so in one sentence.
describe('one process owns the embedded data folder', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let gateway: ReturnType<typeof spawn>;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hookgate-owner-'));
    env = { NODE_ENV: 'development', LOG_LEVEL: 'info', HOOKGATE_DATA_DIR: dataDir, INGRESS_PORT: String(await freePort()), MANAGEMENT_PORT: String(await freePort()) };
    gateway = spawn(process.execPath, [BIN, 'start'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    exited = new Promise((resolve) => gateway.once('exit', resolve));
    await untilStarted(gateway, 170_000);
  }, 180_000);

  afterAll(async () => {
    // A command still running here means its test failed; it must not outlive the run.
    for (const child of children) child.kill('SIGKILL');
    gateway?.kill('SIGTERM');
    await exited;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a second gateway on the same folder: one sentence naming the holder, exit 2', async () => {
    const second = await hookgate(['start'], { ...env, INGRESS_PORT: String(await freePort()), MANAGEMENT_PORT: String(await freePort()) });
    expect(second.code).toBe(2);
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toContain(`is in use by process ${gateway.pid}`);
    expect(second.stderr).not.toMatch(/RuntimeError|Aborted|\n\s+at /);
  }, 180_000);

  it('refuses migrate while the gateway runs (it applied them at its start), exit 2', async () => {
    const migrate = await hookgate(['migrate'], env);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr.trim().split('\n')).toEqual([expect.stringContaining('a running gateway has already applied the migrations')]);
  }, 180_000);

  it('refuses a busy port in one sentence, without a stack trace', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'hookgate-port-'));
    try {
      const busy = await hookgate(['start'], { ...env, HOOKGATE_DATA_DIR: otherDir });
      expect(busy.code).toBe(2);
      expect(busy.stderr.trim().split('\n')).toEqual([`hookgate: port ${env.INGRESS_PORT} on 127.0.0.1 is already in use (another Hookgate running?): stop what holds it, or choose another with INGRESS_PORT`]);
      // The refused start let go of its own folder.
      expect(existsSync(join(otherDir, 'pglite.lock'))).toBe(false);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('lets go of the folder on SIGTERM, after which migrate runs', async () => {
    expect(JSON.parse(await readFile(join(dataDir, 'pglite.lock'), 'utf8')).pid).toBe(gateway.pid);
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(join(dataDir, 'pglite.lock'))).toBe(false);
    const migrate = await hookgate(['migrate'], env);
    expect(migrate.stderr).toBe('');
    expect(migrate).toMatchObject({ code: 0, stdout: `migrations applied (embedded, in ${dataDir})\n` });
  }, 180_000);
});
