// `npm run db:migrate`: applies the committed migrations in drizzle/ to DATABASE_URL.
import { ConfigError, loadDatabaseUrl } from '../src/config.js';
import { migrateDatabase } from '../src/db/client.js';

try {
  await migrateDatabase(loadDatabaseUrl());
  process.stderr.write('migrations applied\n');
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
