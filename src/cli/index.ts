import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import { openDatabase } from '../db/client.js';
import { integrations } from '../db/schema.js';
import { DEMO_PROVIDER } from '../first-run.js';
import type { SchemeName } from '../ingress/schemes/index.js';
import { deliveriesCommand } from './commands/deliveries.js';
import { destinationsCommand } from './commands/destinations.js';
import { eventsCommand } from './commands/events.js';
import { integrationsCommand } from './commands/integrations.js';
import { replayCommand } from './commands/replay.js';
import { keyringFor, migrateCommand, secretsCommand, startCommand } from './commands/server.js';
import { statusCommand } from './commands/status.js';
import { UsageError, config, graphql } from './context.js';
import { flags, type Command } from './output.js';
import { runCommand } from './run-command.js';
import { signAs } from './sign.js';

/**
 * `npx hookgate <command>`: run the server, migrate, send a signed test webhook, and do the daily
 * work of an operator through the running server's GraphQL API. Exit codes: 0 done, 1 the server
 * refused (or could not be reached), 2 bad usage.
 */

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

async function send(cfg: Config, args: string[], json = false): Promise<void> {
  const { values, positionals } = flags(args, { file: { type: 'string' }, secret: { type: 'string' }, 'private-key': { type: 'string' }, id: { type: 'string' } }, 'send');
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
  // --id travels only in schemes with an id header; say so rather than drop it silently.
  if (values.id && !Object.values(sample.headers).includes(values.id)) {
    process.stderr.write(`hookgate: note: ${verification.scheme} has no id header, so --id is not sent: the event key comes from the body (eventKeyPath) or its SHA-256\n`);
  }
  const url = `http://${cfg.host}:${cfg.ingress.port}/api/v1/webhooks/${provider}`;
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': sample.contentType, ...sample.headers }, body: new Uint8Array(sample.body) });
  const text = await response.text();
  if (json) {
    let answer: unknown = text;
    try {
      answer = JSON.parse(text);
    } catch {
      // A handshake may answer plain text: kept as a string.
    }
    process.stdout.write(`${JSON.stringify({ status: response.status, answer })}\n`);
  } else process.stdout.write(`${response.status} ${text}\n`);
  if (!response.ok) process.exitCode = 1;
}


const sendCommand: Command = {
  name: 'send',
  summary: 'sign a JSON file with the integration\'s scheme and POST it to the ingress',
  usage: `usage: hookgate send <provider> --file body.json [--secret S] [--private-key key.pem] [--id ID]

Signs the body as the integration's provider would (every preset) and POSTs it to the ingress.

  --file F            the webhook body (a JSON object; form-posting presets get it form-encoded)
  --secret S          the integration's signing secret (default: the demo's, or read from DATABASE_URL)
  --private-key K     PEM private key for public-key presets (DISCORD, SENDGRID); default: the
                      published test key pair (src/cli/test-keys.ts)
  --id ID             the delivery id, for schemes with an id header (e.g. STANDARD_WEBHOOKS, GITHUB, SHOPIFY)
`,
  run: (ctx, args) => send(ctx.cfg, args, ctx.json),
};

export const COMMANDS: Command[] = [
  startCommand,
  migrateCommand,
  statusCommand,
  eventsCommand,
  deliveriesCommand,
  replayCommand,
  integrationsCommand,
  destinationsCommand,
  sendCommand,
  secretsCommand,
];

export function version(): string {
  // src/cli/index.ts and dist/cli/index.js both sit two folders below package.json.
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function runCli(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  process.exitCode = await runCommand(COMMANDS, argv, env, { version, config });
}
