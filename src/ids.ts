import { hash, randomUUID } from 'node:crypto';

/** Namespace for every Hookgate UUIDv5; changing it would change every event id. */
export const HOOKGATE_NAMESPACE = '1d61f0da-54f8-4799-ba05-45d58e4c4bf2';

const namespaceBytes = (namespace: string) => Buffer.from(namespace.replaceAll('-', ''), 'hex');
const HOOKGATE_NAMESPACE_BYTES = namespaceBytes(HOOKGATE_NAMESPACE);

/** RFC 9562 §5.5: UUIDv5 is SHA-1 over namespace bytes + name, with version and variant bits set. */
export function uuidV5(name: string, namespace: string = HOOKGATE_NAMESPACE): string {
  // One buffer and a one-shot digest: this runs for every webhook.
  const prefix = namespace === HOOKGATE_NAMESPACE ? HOOKGATE_NAMESPACE_BYTES : namespaceBytes(namespace);
  const digest = hash('sha1', Buffer.concat([prefix, Buffer.from(name, 'utf8')]), 'buffer');
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
