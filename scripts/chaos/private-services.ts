import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, startPrivateRedis } from '../../test/helpers/processes.js';

const run = promisify(execFile);
const SERVICES_SCRIPT = fileURLToPath(new URL('../services.sh', import.meta.url));

/**
 * A Kafka broker of the chaos run's own (own ports, own data folder), so stopping and restarting
 * it never touches the broker that `services:up` started for everyone else.
 */
export async function startPrivateBroker(dir: string): Promise<{ brokers: string; stop(): Promise<void>; start(): Promise<void>; wipe(): Promise<void> }> {
  const port = await freePort();
  const controllerPort = await freePort();
  const env = { ...process.env, HOOKGATE_SERVICES_DIR: dir, KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controllerPort) };
  const action = async (name: 'kafka-start' | 'kafka-stop') => {
    await run('bash', [SERVICES_SCRIPT, name], { env, timeout: 180_000 });
  };
  await action('kafka-start');
  return {
    brokers: `127.0.0.1:${port}`,
    start: () => action('kafka-start'),
    stop: () => action('kafka-stop'),
    async wipe() {
      await action('kafka-stop');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Stops the broker whose data lives in `dir`, whatever state its start reached (pid file). */
export async function stopPrivateBroker(dir: string): Promise<void> {
  await run('bash', [SERVICES_SCRIPT, 'kafka-stop'], { env: { ...process.env, HOOKGATE_SERVICES_DIR: dir }, timeout: 180_000 });
}

/** A private redis-server that can be killed and brought back on the same port. */
export async function startRestartableRedis() {
  let current = await startPrivateRedis();
  const port = current.port;
  return {
    url: current.url,
    kill: () => current.stop(),
    async start() {
      current = await startPrivateRedis(port);
    },
    stop: () => current.stop(),
  };
}
