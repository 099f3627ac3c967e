import { prepareTemplate } from './database.js';
import { services } from './services.js';

/** Migrates the template database once per run; test files copy it. */
export default async function setup(): Promise<void> {
  if (services.testDatabaseUrl) await prepareTemplate(services.testDatabaseUrl);
}
