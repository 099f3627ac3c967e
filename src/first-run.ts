import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { generateDestinationSecret } from './consumers/outbound-signature.js';
import type { Database } from './db/client.js';
import { auditEntries, destinations, integrations } from './db/schema.js';

/**
 * The newcomer path (outside production only): a management key kept in the data folder, a demo
 * integration whose destination is the built-in delivery sink, and a banner that says what to run.
 */
export const DEMO_PROVIDER = 'demo';

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').then((text) => text.trim(), () => undefined);
}

/** Uses the key in `<dataDir>/management-api-key`, creating it on first start. */
export async function devManagementKey(dataDir: string): Promise<{ key: string; created: boolean; path: string }> {
  const path = join(dataDir, 'management-api-key');
  const existing = await readText(path);
  if (existing && existing.length >= 16) return { key: existing, created: false, path };
  await mkdir(dataDir, { recursive: true });
  const key = `hg_dev_${randomBytes(24).toString('base64url')}`;
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  return { key, created: true, path };
}

export interface DemoIntegration {
  provider: string;
  secret: string;
  created: boolean;
}

/** Creates the demo integration once; its signing secret is kept beside the key so the banner can show a signed command. */
export async function ensureDemoIntegration(db: Database, options: { dataDir: string; sinkUrl: string }): Promise<DemoIntegration | undefined> {
  const secretPath = join(options.dataDir, 'demo-signing-secret');
  const [existing] = await db.select().from(integrations).where(eq(integrations.provider, DEMO_PROVIDER));
  if (existing) {
    const secret = await readText(secretPath);
    return secret ? { provider: DEMO_PROVIDER, secret, created: false } : undefined;
  }
  const secret = `demo_${randomBytes(18).toString('base64url')}`;
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(secretPath, `${secret}\n`, { mode: 0o600 });
  await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(integrations)
      .values({ provider: DEMO_PROVIDER, name: 'Demo (acme-style HMAC)', scheme: 'HMAC_SHA256', settings: { eventKeyPath: '$.id' }, secret })
      .returning();
    const [destination] = await tx
      .insert(destinations)
      .values({ integrationId: row!.id, url: options.sinkUrl, secret: generateDestinationSecret() })
      .returning();
    await tx.insert(auditEntries).values({
      actor: 'system:first-run',
      action: 'integration.created',
      targetType: 'integration',
      targetId: row!.id,
      details: { provider: DEMO_PROVIDER, destinationIds: [destination!.id], reason: 'demo integration for a first run' },
    });
  });
  return { provider: DEMO_PROVIDER, secret, created: true };
}

/** The copy-paste command the banner prints: sign the exact bytes with openssl, send them with curl. */
export function sampleCommand(ingressUrl: string, demo: DemoIntegration): string {
  return [
    `BODY='{"id":"demo-'"$(date +%s)"'","type":"demo.ping","message":"hello from the first run"}'`,
    `SIG=$(printf '%s' "$BODY" | openssl dgst -sha256 -hmac '${demo.secret}' -hex | sed 's/^.* //')`,
    `curl -s -X POST ${ingressUrl}/api/v1/webhooks/${demo.provider} -H 'content-type: application/json' -H "x-acme-signature: sha256=$SIG" --data-binary "$BODY"; echo`,
  ].join('\n');
}

export function welcomeBanner(options: {
  ingressUrl?: string;
  managementUrl?: string;
  key?: { key: string; created: boolean; path: string };
  demo?: DemoIntegration;
}): string {
  const lines = ['', '  Hookgate is running.', ''];
  if (options.ingressUrl) lines.push(`  Ingress:   ${options.ingressUrl}/api/v1/webhooks/:provider`);
  if (options.managementUrl) lines.push(`  GraphQL:   ${options.managementUrl}/graphql   (GraphiQL in a browser)`);
  if (options.key) {
    lines.push(
      options.key.created
        ? `  API key:   ${options.key.key}   (new; kept in ${options.key.path}, shown only this once)`
        : `  API key:   in ${options.key.path}`,
      `             send it as the x-internal-api-key header`,
    );
  }
  if (options.demo && options.ingressUrl && options.managementUrl) {
    lines.push(
      '',
      '  Send a signed sample webhook to the demo integration:',
      '',
      ...sampleCommand(options.ingressUrl, options.demo).split('\n').map((line) => `    ${line}`),
      '',
      `  Then see it delivered:  curl -s -H "x-internal-api-key: $(cat ${options.key?.path ?? '.hookgate/management-api-key'})" ${options.managementUrl}/api/v1/internal/delivery-sink/${options.demo.provider}`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
