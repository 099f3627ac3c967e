// Builds the web console (src/console) into dist/console: one bundled script, one stylesheet and
// the page. Run by `npm ci` / `npm install` (the `prepare` script) and by `npm run build:console`.
// Plain JavaScript so that it runs before anything else is compiled; esbuild is a declared dependency.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/console');
const out = join(root, 'dist/console');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [join(source, 'main.ts')],
  bundle: true,
  format: 'iife',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
await copyFile(join(source, 'index.html'), join(out, 'index.html'));
await copyFile(join(source, 'app.css'), join(out, 'app.css'));
process.stdout.write(`hookgate: console built into ${out}\n`);
