import { schemeFor, type SchemeName } from '../ingress/schemes/index.js';
import type { SignedSample } from '../ingress/schemes/types.js';
import type { VerificationSettings } from '../db/schema.js';
import { TEST_KEY_PAIRS } from './test-keys.js';

/**
 * Signs a body the way each provider would, so `hookgate send` can exercise any integration. The
 * signing itself lives beside each preset's verifier (its `sign`), so the two cannot drift apart.
 * Public-key presets (DISCORD, SENDGRID) sign with a private key: the one given, else the
 * published test key pair, whose public half the integration must then be configured with.
 */
export function signAs(
  scheme: SchemeName,
  secret: string,
  body: Buffer,
  options: { header?: string | null; id: string; now?: Date; settings?: VerificationSettings; privateKey?: string },
): SignedSample {
  const preset = schemeFor(scheme);
  if (!preset) throw new Error(`unknown scheme ${scheme}`);
  const settings: VerificationSettings = { ...options.settings, ...(options.header ? { header: options.header } : {}) };
  const key = preset.publicKey ? (options.privateKey ?? TEST_KEY_PAIRS[preset.publicKey].privateKey) : secret;
  const url = settings.publicUrl;
  return preset.sign(body, { secret: key, id: options.id, now: options.now ?? new Date(), settings, ...(url ? { url } : {}) });
}
