// Verify cost per preset kind (BENCHMARKS.md, "Provider presets"): `npx tsx scripts/bench/preset-verify.ts`.
import { schemeFor } from '../../src/ingress/schemes/index.js';
import { TEST_KEY_PAIRS } from '../../src/cli/test-keys.js';
const body = Buffer.from(JSON.stringify({ id: 'evt_1', type: 'x', data: { text: 'x'.repeat(1800) } }));
for (const name of ['GITHUB', 'STRIPE', 'TWILIO', 'DISCORD', 'SENDGRID'] as const) {
  const scheme = schemeFor(name)!;
  const key = scheme.publicKey ? TEST_KEY_PAIRS[scheme.publicKey].publicKey : 'secret-0123456789abcdef';
  const signKey = scheme.publicKey ? TEST_KEY_PAIRS[scheme.publicKey].privateKey : key;
  const settings = { publicUrl: 'https://h.example.com/x' };
  const now = new Date();
  const sample = scheme.sign(body, { secret: signKey, id: 'i', now, settings, url: settings.publicUrl });
  const input = { rawBody: sample.body, headers: sample.headers, secrets: [key], settings, now, url: settings.publicUrl, payload: () => Object.fromEntries(new URLSearchParams(sample.body.toString())) };
  if (!scheme.verify(input).ok) throw new Error(name);
  const n = scheme.publicKey ? 2000 : 20000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) scheme.verify(input);
  const us = Number(process.hrtime.bigint() - start) / 1000 / n;
  console.log(`| ${name} | ${sample.body.length} | ${us.toFixed(1)} µs | ${Math.round(1e6 / us)} |`);
}
