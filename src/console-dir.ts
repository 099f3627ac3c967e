import { fileURLToPath } from 'node:url';

/** Where `npm run build:console` (run by `npm ci` / `npm install`) writes the console; git-ignored. */
export const CONSOLE_DIR = fileURLToPath(new URL('../dist/console', import.meta.url));
