import { join } from 'node:path';
import type { Config } from '../../config.js';
import { migrateDatabase, openDatabase } from '../../db/client.js';
import { loadKeyring } from '../../secrets/encryption-keys.js';
import { resealPlainSecrets, resealSecrets } from '../../secrets/reseal.js';
import { installKeyring } from '../../secrets/secret-box.js';
import { UsageError, type CliContext } from '../context.js';
import { flags, type Command } from '../output.js';

/** The commands that work on the server's own process and database rather than through its API. */

/** The configured keys (or the data folder's generated one), installed for the secret columns. */
export async function keyringFor(cfg: Config) {
  const keyring = await loadKeyring({ keys: cfg.encryptionKeys, dataDir: cfg.dataDir });
  installKeyring(keyring);
  return keyring;
}

async function openConfiguredDatabase(cfg: Config) {
  return cfg.database.url ? openDatabase({ url: cfg.database.url, dataDir: '' }) : openDatabase({ dataDir: join(cfg.dataDir, 'pglite') });
}

export const startCommand: Command = {
  name: 'start',
  summary: 'run Hookgate (same as npm start)',
  usage: `usage: hookgate start [--role ROLES]

  --role ROLES   all (default), or a comma list of ingress, persist, delivery, graph
                 (the same as HOOKGATE_ROLE)
`,
  async run(ctx: CliContext, args) {
    const { values, positionals } = flags(args, { role: { type: 'string' } }, 'start');
    if (positionals.length) throw new UsageError(`start: unexpected "${positionals[0]}" (see \`hookgate start -h\`)`);
    // Loaded only here: the rest of the CLI is an API client and starts faster without the server's modules.
    const { runServer } = await import('../../run.js');
    await runServer(values.role ? { ...ctx.env, HOOKGATE_ROLE: values.role } : ctx.env);
  },
};

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply the database migrations (a running gateway applies them at its start)',
  usage: `usage: hookgate migrate

  Applies the migrations in drizzle/ to DATABASE_URL (safe while gateways run: Postgres takes an
  advisory lock), then encrypts any secret stored in the clear. On the embedded database it
  refuses while a gateway holds the data folder: that gateway applied them when it started.
`,
  async run(ctx, args) {
    flags(args, {}, 'migrate');
    const cfg = ctx.cfg;
    if (cfg.database.url) await migrateDatabase(cfg.database.url);
    // Then the step SQL cannot do: seal secrets stored in the clear (start-up does it too).
    const keyring = await keyringFor(cfg);
    const handle = await openConfiguredDatabase(cfg);
    try {
      await resealPlainSecrets(handle.db, keyring);
    } finally {
      await handle.close();
    }
    ctx.out(`migrations applied (${cfg.database.url ? 'Postgres' : `embedded, in ${cfg.dataDir}`})\n`);
  },
};

export const secretsCommand: Command = {
  name: 'secrets',
  summary: 're-encrypt every stored secret under the newest encryption key',
  usage: `usage: hookgate secrets rotate

  Re-encrypts every stored secret under the newest key of HOOKGATE_ENCRYPTION_KEYS
  (then drop the old keys).
`,
  async run(ctx, args) {
    const { positionals } = flags(args, {}, 'secrets');
    if (positionals[0] !== 'rotate' || positionals.length > 1) throw new UsageError('secrets: use `secrets rotate`');
    const keyring = await keyringFor(ctx.cfg);
    const handle = await openConfiguredDatabase(ctx.cfg);
    try {
      const report = await resealSecrets(handle.db, keyring);
      const detail = Object.entries(report.resealed).map(([column, count]) => `${column}: ${count}`).join(', ');
      ctx.out(`re-encrypted ${report.total} secrets under key ${keyring.currentKeyId} (${detail})\n`);
    } finally {
      await handle.close();
    }
  },
};
