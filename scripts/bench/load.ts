import { createHmac } from 'node:crypto';
import autocannon, { type RequestData, type Result } from 'autocannon';

/**
 * Load generation with autocannon's programmatic API. Every request carries a fresh body with a
 * unique id and its own signature, so the server under test does the real work per request
 * (no duplicate short-cuts) and the client's cost is the same whichever server it aims at.
 */

export const ACME_SIGNATURE_HEADER = 'x-acme-signature';
const TARGET_BODY_BYTES = 1024;

/** The fixed part of an acme "order.created" webhook, padded so that a whole body is about 1 KB. */
function orderBodyTail(sampleId: string): string {
  const data = {
    order: {
      number: 'A-100245',
      currency: 'EUR',
      total_cents: 15870,
      customer: { id: 'cus_8Fq2LrT0', email: 'jane.doe@example.com', name: 'Jane Doe' },
      shipping_address: { line1: 'Keizersgracht 123', city: 'Amsterdam', postal_code: '1015 CJ', country: 'NL' },
      items: [
        { sku: 'TSHIRT-BLK-M', name: 'T-shirt, black, M', quantity: 2, unit_price_cents: 2490 },
        { sku: 'MUG-WHT', name: 'Mug, white', quantity: 1, unit_price_cents: 1290 },
        { sku: 'CAP-NVY', name: 'Cap, navy', quantity: 1, unit_price_cents: 1990 },
        { sku: 'SOCKS-3P', name: 'Socks, 3 pairs', quantity: 3, unit_price_cents: 2530 },
      ],
    },
  };
  const withoutNote = `"data":${JSON.stringify(data)},"note":""}`;
  const head = bodyHead(sampleId, new Date().toISOString());
  const padding = Math.max(0, TARGET_BODY_BYTES - Buffer.byteLength(head + withoutNote));
  return `"data":${JSON.stringify(data)},"note":"${'n'.repeat(padding)}"}`;
}

function bodyHead(id: string, createdAt: string): string {
  return `{"id":"${id}","type":"order.created","created_at":"${createdAt}",`;
}

/**
 * Returns autocannon's `setupRequest`: each call builds the next body (`<runId>-<counter>` as its
 * id) and signs its exact bytes, `sha256=<hex HMAC-SHA256>`, as the acme scheme expects.
 */
export function createSignedWebhookRequests(options: { runId: string; secret: string }) {
  let counter = 0;
  const tail = orderBodyTail(`${options.runId}-1000000`);
  const setupRequest = (request: RequestData): RequestData => {
    counter += 1;
    const body = Buffer.from(bodyHead(`${options.runId}-${counter}`, new Date().toISOString()) + tail);
    const signature = createHmac('sha256', options.secret).update(body).digest('hex');
    return { ...request, body, headers: { ...request.headers, [ACME_SIGNATURE_HEADER]: `sha256=${signature}` } };
  };
  const bodyBytes = Buffer.byteLength(bodyHead(`${options.runId}-1`, new Date().toISOString()) + tail);
  return { setupRequest, bodyBytes, sent: () => counter };
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  setupRequest: (request: RequestData) => RequestData;
  /** Stops the load early (the result then covers the time run). */
  signal?: AbortSignal;
}

/** POSTs JSON to `url` from `connections` keep-alive connections for `durationSeconds`. */
export function runLoad(options: LoadOptions): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        timeout: 10,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        requests: [{ setupRequest: options.setupRequest }],
      },
      (error, result) => {
        options.signal?.removeEventListener('abort', stop);
        if (error) reject(error);
        else resolve(result);
      },
    );
    const stop = () => instance.stop();
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
  });
}
