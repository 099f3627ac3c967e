import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/db/client.js';
import { databaseContract } from '../contract/database.contract.js';
import { createTestDatabase } from '../helpers/database.js';
import { describeWithServices, services } from '../helpers/services.js';

databaseContract('PGlite (embedded)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'hookgate-pglite-'));
  const handle = await openDatabase({ dataDir });
  return {
    db: handle.db,
    cleanup: async () => {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});

describeWithServices('database contract on Postgres', ['postgres'], () => {
  databaseContract('Postgres (postgres.js)', async () => {
    const database = await createTestDatabase(services.testDatabaseUrl!);
    const handle = await openDatabase({ url: database.url, dataDir: '' });
    return {
      db: handle.db,
      cleanup: async () => {
        await handle.close();
        await database.drop();
      },
    };
  });
});
