import { runServer } from './run.js';

// Wiring only: the one place the server reads its environment (STYLE.md §1).
await runServer(process.env);
