import { hash, randomUUID } from 'node:crypto';

/** Namespace for every Hookgate UUIDv5; changing it would change every event id. */
export const HOOKGATE_NAMESPACE = '1d61f0da-54f8-4799-ba05-45d58e4c4bf2';

const namespaceBytes = (namespace: string) => Buffer.from(namespace.replaceAll('-', ''), 'hex');
// This runs for every webhook: Hookgate's namespace stays in a scratch buffer, the name is
// written after it, and the one-shot digest reads the two in place (no allocation per id).
const SCRATCH = Buffer.alloc(16 + 4096);
namespaceBytes(HOOKGATE_NAMESPACE).copy(SCRATCH);

function hookgateNamed(name: string): Buffer {
  // Three bytes per UTF-16 unit at most: a name that might not fit takes the allocating way.
  if (name.length * 3 > SCRATCH.length - 16) return Buffer.concat([SCRATCH.subarray(0, 16), Buffer.from(name, 'utf8')]);
  const written = SCRATCH.write(name, 16, 'utf8');
  return SCRATCH.subarray(0, 16 + written);
}

/** RFC 9562 §5.5: UUIDv5 is SHA-1 over namespace bytes + name, with version and variant bits set. */
export function uuidV5(name: string, namespace: string = HOOKGATE_NAMESPACE): string {
  const digest = hash('sha1', namespace === HOOKGATE_NAMESPACE ? hookgateNamed(name) : Buffer.concat([namespaceBytes(namespace), Buffer.from(name, 'utf8')]), 'buffer');
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The event id: the same webhook (same integration, same key) always maps to the same id. */
export function eventIdFor(integrationId: string, eventKey: string): string {
  return uuidV5(`${integrationId}:${eventKey}`);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Keeps a caller's x-request-id when it is a sane token; otherwise makes a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}
