import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { migrateDatabase, openDatabase } from '../db/client.js';
import { integrations } from '../db/schema.js';
import { DEMO_PROVIDER } from '../first-run.js';
import type { SchemeName } from '../ingress/schemes/index.js';
import { runServer } from '../run.js';
import { loadKeyring } from '../secrets/encryption-keys.js';
import { resealPlainSecrets, resealSecrets } from '../secrets/reseal.js';
import { installKeyring } from '../secrets/secret-box.js';
import { signAs } from './sign.js';

/**
 * `npx hookgate <command>`: start the server, migrate, send a signed test webhook, and manage
 * integrations through the running server's GraphQL API. Wrong input: a specific message, exit 2.
 */
class UsageError extends Error {}

const USAGE = `usage: hookgate <command>

  start [--role ingress,persist,delivery,graph]   run Hookgate (same as npm start)
  migrate                                           apply the database migrations
  send <provider> --file body.json [--secret S] [--private-key key.pem] [--id ID]
                                                    sign body.json as the integration's provider would and POST it
                                                    (form-posting providers get it form-encoded; DISCORD and
                                                    SENDGRID sign with the key file, else the published test pair)
  integrations list                                 list integrations (needs a running server)
  integrations create --provider P --name N --scheme SCHEME --secret S
                      [--header H] [--event-key-path $.id] [--destination URL]...
  secrets rotate                                    re-encrypt every stored secret under the newest
                                                    key of HOOKGATE_ENCRYPTION_KEYS (then drop the old keys)
`;

/** The configured keys (or the data folder's generated one), installed for the secret columns. */
async function keyringFor(cfg: Config) {
  const keyring = await loadKeyring({ keys: cfg.encryptionKeys, dataDir: cfg.dataDir });
  installKeyring(keyring);
  return keyring;
}

async function openConfiguredDatabase(cfg: Config) {
  return cfg.database.url ? openDatabase({ url: cfg.database.url, dataDir: '' }) : openDatabase({ dataDir: join(cfg.dataDir, 'pglite') });
}

async function secretsCommand(cfg: Config, args: string[]): Promise<void> {
  if (args[0] !== 'rotate' || args.length > 1) throw new UsageError('secrets: use `secrets rotate`');
  const keyring = await keyringFor(cfg);
  const handle = await openConfiguredDatabase(cfg);
  try {
    const report = await resealSecrets(handle.db, keyring);
    const detail = Object.entries(report.resealed).map(([column, count]) => `${column}: ${count}`).join(', ');
    process.stdout.write(`re-encrypted ${report.total} secrets under key ${keyring.currentKeyId} (${detail})\n`);
  } finally {
    await handle.close();
  }
}

function config(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

async function managementKey(cfg: Config): Promise<string> {
  if (cfg.management.apiKeys[0]) return cfg.management.apiKeys[0];
  const stored = await readFile(join(cfg.dataDir, 'management-api-key'), 'utf8').catch(() => '');
  if (!stored.trim()) throw new UsageError('no MANAGEMENT_API_KEY set and no key in the data folder: start Hookgate once first');
  return stored.trim();
}

async function graphql<T>(cfg: Config, query: string, variables?: Record<string, unknown>): Promise<T> {
  const url = `http://${cfg.host}:${cfg.management.port}/graphql`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-internal-api-key': await managementKey(cfg) },
    body: JSON.stringify({ query, variables }),
  }).catch(() => {
    throw new UsageError(`cannot reach Hookgate at ${url}: is it running (npx hookgate start)?`);
  });
  const result = (await response.json()) as { data?: T; errors?: { message: string }[]; error?: { message: string } };
  if (result.error) throw new UsageError(result.error.message);
  if (result.errors?.length) throw new UsageError(result.errors.map((error) => error.message).join('; '));
  return result.data!;
}

/** The integration's signing secret: --secret, else the demo's stored secret, else Postgres (never the embedded file a running server holds). */
async function secretFor(cfg: Config, provider: string, explicit: string | undefined): Promise<string> {
  if (explicit) return explicit;
  if (provider === DEMO_PROVIDER) {
    const stored = await readFile(join(cfg.dataDir, 'demo-signing-secret'), 'utf8').catch(() => '');
    if (stored.trim()) return stored.trim();
  }
  if (cfg.database.url) {
    await keyringFor(cfg);
    const handle = await openDatabase({ url: cfg.database.url, dataDir: '' });
    try {
      const [row] = await handle.db.select({ secret: integrations.secret }).from(integrations).where(eq(integrations.provider, provider));
      if (row) return row.secret;
    } finally {
      await handle.close();
    }
  }
  throw new UsageError(`cannot find the signing secret of "${provider}": pass --secret`);
}

async function send(cfg: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { file: { type: 'string' }, secret: { type: 'string' }, 'private-key': { type: 'string' }, id: { type: 'string' } } });
  const provider = positionals[0];
  if (!provider) throw new UsageError('send: name the provider, e.g. `hookgate send demo --file body.json`');
  if (!values.file) throw new UsageError('send: --file is required (a JSON file with the webhook body)');
  const body = await readFile(values.file).catch(() => {
    throw new UsageError(`send: cannot read ${values.file}`);
  });
  try {
    JSON.parse(body.toString('utf8'));
  } catch {
    throw new UsageError(`send: ${values.file} is not valid JSON`);
  }
  const data = await graphql<{ integration: { provider: string; verification: { scheme: SchemeName; header: string | null; publicUrl: string | null } } | null }>(
    cfg,
    'query ($provider: String) { integration(provider: $provider) { provider verification { scheme header publicUrl } } }',
    { provider },
  );
  if (!data.integration) throw new UsageError(`send: no integration for provider "${provider}"; see \`hookgate integrations list\``);
  const secret = await secretFor(cfg, provider, values.secret);
  const { verification } = data.integration;
  const privateKey = values['private-key']
    ? await readFile(values['private-key'], 'utf8').catch(() => {
        throw new UsageError(`send: cannot read ${values['private-key']}`);
      })
    : undefined;
  const sample = signAs(verification.scheme, secret, body, {
    header: verification.header,
    id: values.id ?? `cli_${randomUUID()}`,
    settings: verification.publicUrl ? { publicUrl: verification.publicUrl } : {},
    ...(privateKey ? { privateKey } : {}),
  });
  const url = `http://${cfg.host}:${cfg.ingress.port}/api/v1/webhooks/${provider}`;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': sample.contentType, ...sample.headers }, body: new Uint8Array(sample.body) });
  const text = await response.text();
  process.stdout.write(`${response.status} ${text}\n`);
  if (!response.ok) process.exitCode = 1;
}

async function integrationsCommand(cfg: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'list') {
    type Page = { integrations: { edges: { node: { id: string; provider: string; name: string; enabled: boolean; verification: { scheme: string }; destinations: { url: string; enabled: boolean }[] } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    let after: string | undefined;
    do {
      const data: Page = await graphql<Page>(
        cfg,
        `query ($after: String) { integrations(first: 20, after: $after) {
           edges { node { id provider name enabled verification { scheme } destinations { url enabled } } } pageInfo { hasNextPage endCursor } } }`,
        { after },
      );
      for (const { node } of data.integrations.edges) {
        process.stdout.write(`${node.provider.padEnd(20)} ${node.verification.scheme.padEnd(18)} ${node.enabled ? 'enabled ' : 'disabled'} ${node.id}  ${node.name}\n`);
        for (const destination of node.destinations) process.stdout.write(`${''.padEnd(20)} → ${destination.url}${destination.enabled ? '' : ' (disabled)'}\n`);
      }
      after = data.integrations.pageInfo.hasNextPage ? data.integrations.pageInfo.endCursor : undefined;
    } while (after);
    return;
  }
  if (sub === 'create') {
    const { values } = parseArgs({
      args: rest,
      options: {
        provider: { type: 'string' },
        name: { type: 'string' },
        scheme: { type: 'string' },
        secret: { type: 'string' },
        header: { type: 'string' },
        'event-key-path': { type: 'string' },
        destination: { type: 'string', multiple: true },
      },
    });
    for (const required of ['provider', 'name', 'scheme', 'secret'] as const) {
      if (!values[required]) throw new UsageError(`integrations create: --${required} is required`);
    }
    const data = await graphql<{ createIntegration: { __typename: string; id?: string; provider?: string; message?: string; fieldErrors?: { path: string[]; message: string }[] } }>(
      cfg,
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename
         ... on Integration { id provider } ... on Error { message } ... on ValidationError { fieldErrors { path message } } } }`,
      {
        input: {
          provider: values.provider,
          name: values.name,
          verification: { scheme: values.scheme!.toUpperCase(), secret: values.secret, header: values.header, eventKeyPath: values['event-key-path'] },
          destinations: (values.destination ?? []).map((url) => ({ url })),
        },
      },
    );
    const result = data.createIntegration;
    if (result.__typename !== 'Integration') {
      const details = result.fieldErrors?.map((error) => `  ${error.path.join('.')}: ${error.message}`).join('\n');
      throw new UsageError(`integrations create: ${result.message}${details ? `\n${details}` : ''}`);
    }
    process.stdout.write(`created ${result.provider} (${result.id})\n`);
    return;
  }
  throw new UsageError('integrations: use `integrations list` or `integrations create …`');
}

export async function runCli(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'start': {
        const { values } = parseArgs({ args, options: { role: { type: 'string' } } });
        await runServer(values.role ? { ...env, HOOKGATE_ROLE: values.role } : env);
        return;
      }
      case 'migrate': {
        const cfg = config(env);
        if (cfg.database.url) await migrateDatabase(cfg.database.url);
        // Then the step SQL cannot do: seal secrets stored in the clear (start-up does it too).
        const keyring = await keyringFor(cfg);
        const handle = await openConfiguredDatabase(cfg);
        try {
          await resealPlainSecrets(handle.db, keyring);
        } finally {
          await handle.close();
        }
        process.stdout.write(`migrations applied (${cfg.database.url ? 'Postgres' : `embedded, in ${cfg.dataDir}`})\n`);
        return;
      }
      case 'send':
        return await send(config(env), args);
      case 'integrations':
        return await integrationsCommand(config(env), args);
      case 'secrets':
        return await secretsCommand(config(env), args);
      case undefined:
      case 'help':
      case '--help':
        process.stdout.write(USAGE);
        return;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`hookgate: ${(error as Error).message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}
