#!/usr/bin/env node
// The package's command. Production (NODE_ENV=production) and an installed package run the
// compiled JavaScript in dist/ (`npm run build`), with no TypeScript compiler in the path. A
// clone in development runs the TypeScript source through tsx (a dev dependency): no build step.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const compiled = new URL('../dist/cli/index.js', import.meta.url);
const source = new URL('../src/cli/index.ts', import.meta.url);

async function loadCli() {
  const production = process.env.NODE_ENV === 'production';
  if (!production && existsSync(source)) {
    const tsx = await import('tsx/esm/api').catch(() => undefined);
    if (tsx) {
      tsx.register();
      return import(source.href);
    }
  }
  if (existsSync(compiled)) return import(compiled.href);
  process.stderr.write(
    production
      ? 'hookgate: NODE_ENV=production runs the compiled build, and dist/ is missing: run `npm run build` first\n'
      : 'hookgate: neither the compiled build (dist/) nor tsx to run the source is installed: run `npm ci` or `npm run build`\n',
  );
  process.exit(2);
}

const { runCli } = await loadCli();
await runCli(process.argv.slice(2), process.env);
