#!/usr/bin/env node
// The package's command: runs the TypeScript CLI through tsx (a runtime dependency), so
// `npx hookgate …` works straight from a clone without a build step.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/index.ts');
await runCli(process.argv.slice(2), process.env);
