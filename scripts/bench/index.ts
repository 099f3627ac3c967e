// `npm run bench -- <name>`: runs one benchmark. Results land in bench-results/<run>/ (git-ignored);
// BENCHMARKS.md says how to read them and holds the speed targets.
import { BenchError } from './errors.js';

const BENCHES: Record<string, { about: string; run: () => Promise<void> }> = {
  ingress: {
    about: 'the ingress role (verify, rate-limit, produce to Kafka) against a bare node:http server',
    run: async () => (await import('./ingress.js')).runIngressBench(),
  },
  persist: {
    about: 'drains a topic pre-filled with 100,000 webhooks into Postgres against a raw postgres.js batched INSERT',
    run: async () => (await import('./persist.js')).runPersistBench(),
  },
  delivery: {
    about: 'deliveries per second to a local receiver against a raw node:http loop posting the same signed bodies',
    run: async () => (await import('./delivery.js')).runDeliveryBench(),
  },
  graph: {
    about: 'events(first: 50) over a million events, and 1,000-subscriber fan-out against a bare ws broadcast',
    run: async () => (await import('./graph.js')).runGraphBench(),
  },
};

function usage(): string {
  const names = Object.entries(BENCHES).map(([name, bench]) => `  ${name.padEnd(10)} ${bench.about}`);
  return ['usage: npm run bench -- <name>', '', 'available benchmarks:', ...names, ''].join('\n');
}

const name = process.argv[2];
if (name === undefined || name === '--help' || name === '-h') {
  process.stdout.write(usage());
} else if (!Object.hasOwn(BENCHES, name)) {
  process.stderr.write(`bench: unknown benchmark "${name}"; available: ${Object.keys(BENCHES).join(', ')}\n`);
  process.exitCode = 1;
} else {
  try {
    await BENCHES[name]!.run();
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof BenchError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exitCode = 1;
  }
}
