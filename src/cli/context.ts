import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';

/**
 * What every CLI command shares: the two kinds of failure (and their exit codes), the loaded
 * configuration, and one GraphQL call over the management API — the CLI is a client of the
 * public API like any other, so it needs no database access of its own.
 */

/** Wrong input (a flag, an argument, the configuration): exit code 2. */
export class UsageError extends Error {}

/** The server refused, or could not be reached: exit code 1. */
export class CommandFailed extends Error {}

export interface CliContext {
  cfg: Config;
  env: Record<string, string | undefined>;
  /** `--json`: print the API's answer as JSON instead of a table. */
  json: boolean;
  out(text: string): void;
}

export function config(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

export async function managementKey(cfg: Config): Promise<string> {
  if (cfg.management.apiKeys[0]) return cfg.management.apiKeys[0];
  const stored = await readFile(join(cfg.dataDir, 'management-api-key'), 'utf8').catch(() => '');
  if (!stored.trim()) throw new UsageError('no MANAGEMENT_API_KEY set and no key in the data folder: start Hookgate once first');
  return stored.trim();
}

export function managementUrl(cfg: Config): string {
  return `http://${cfg.host}:${cfg.management.port}`;
}

/** One GraphQL operation; a GraphQL error (the server refused the document or an argument) fails the command once, with its message. */
export async function graphql<T>(cfg: Config, query: string, variables?: Record<string, unknown>): Promise<T> {
  const url = `${managementUrl(cfg)}/graphql`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-internal-api-key': await managementKey(cfg) },
    body: JSON.stringify({ query, variables }),
  }).catch(() => {
    throw new CommandFailed(`cannot reach Hookgate at ${url}: is it running (npx hookgate start)?`);
  });
  const text = await response.text();
  let result: { data?: T; errors?: { message: string }[]; error?: { code?: string; message: string } };
  try {
    result = JSON.parse(text) as typeof result;
  } catch {
    throw new CommandFailed(`${url} answered ${response.status} with something that is not JSON`);
  }
  if (result.error) throw new CommandFailed(`${result.error.code ? `${result.error.code}: ` : ''}${result.error.message}`);
  if (result.errors?.length) throw new CommandFailed(result.errors.map((error) => error.message).join('; '));
  if (!result.data) throw new CommandFailed(`${url} answered ${response.status} without data`);
  return result.data;
}

/** A typed mutation result (`__typename` + `... on Error { message }`): anything but the expected type fails with the server's message, printed once. */
export function expectType<T extends { __typename: string; message?: string; code?: string }>(result: T, typename: string, what: string): T {
  if (result.__typename === typename) return result;
  const code = result.code ? ` (${result.code})` : '';
  throw new CommandFailed(`${what}: ${result.message ?? result.__typename}${code}`);
}

/** Fragment every mutation result selects, so a refusal prints the server's own reason. */
export const ERROR_FIELDS = '__typename ... on Error { message }';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** An integration named by id or by provider slug, resolved to its id. */
export async function integrationId(cfg: Config, nameOrId: string): Promise<string> {
  const byId = isUuid(nameOrId);
  const data = await graphql<{ integration: { id: string } | null }>(
    cfg,
    'query ($id: ID, $provider: String) { integration(id: $id, provider: $provider) { id } }',
    byId ? { id: nameOrId } : { provider: nameOrId },
  );
  if (!data.integration) throw new CommandFailed(`no integration "${nameOrId}"; see \`hookgate integrations list\``);
  return data.integration.id;
}
