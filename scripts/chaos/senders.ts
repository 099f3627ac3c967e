/**
 * Senders that behave like webhook providers: each webhook is POSTed until it is accepted,
 * backing off after 503, 429 and connection errors (honouring Retry-After, capped), as Stripe or
 * GitHub would. Every answer is recorded, so the ledger can tell what the ingress promised.
 */
export interface Webhook {
  /** The provider's id for the event (the integration reads the event key from it). */
  key: string;
  body: Buffer;
  headers: Record<string, string>;
}

export interface SendLog {
  /** Event id answered with 202, per webhook key. */
  accepted: Map<string, string>;
  statuses: Map<number, number>;
  /** 503s that came without Retry-After, other statuses, malformed 202s. */
  violations: string[];
  connectionErrors: number;
  /** What the first few connection errors said. */
  connectionErrorSamples: string[];
  /** When each 202 arrived (ms since epoch), in order. */
  acceptedAt: number[];
  gaveUp: string[];
}

export interface SenderOptions {
  url: string;
  concurrency: number;
  /** Webhooks per second over all senders: spreads the run over the fault schedule. */
  ratePerSecond: number;
  /** Past this instant a webhook not yet accepted is given up (and counted). */
  deadline: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createSendLog(): SendLog {
  return { accepted: new Map(), statuses: new Map(), violations: [], connectionErrors: 0, connectionErrorSamples: [], acceptedAt: [], gaveUp: [] };
}

/** Sends every webhook; `log` fills as answers arrive, so a caller can watch it during the run. */
export interface Sending {
  done: Promise<SendLog>;
  /** Stops pacing: what is left goes out as fast as the senders can. */
  hurry(): void;
}

export function sendAll(webhooks: Webhook[], options: SenderOptions, log: SendLog = createSendLog()): Sending {
  const interval = 1000 / options.ratePerSecond;
  const started = Date.now();
  let hurried = false;
  let next = 0;

  const count = (status: number) => log.statuses.set(status, (log.statuses.get(status) ?? 0) + 1);

  async function deliver(webhook: Webhook): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > options.deadline) {
        log.gaveUp.push(webhook.key);
        return;
      }
      let waitMs = Math.min(200 * 2 ** attempt, 5_000);
      try {
        const response = await fetch(options.url, { method: 'POST', headers: webhook.headers, body: new Uint8Array(webhook.body), signal: AbortSignal.timeout(30_000) });
        const text = await response.text();
        count(response.status);
        if (response.status === 202) {
          const eventId = (JSON.parse(text) as { eventId?: string }).eventId;
          if (!eventId) log.violations.push(`202 without an eventId for ${webhook.key}`);
          else {
            const earlier = log.accepted.get(webhook.key);
            if (earlier && earlier !== eventId) log.violations.push(`${webhook.key} answered with two event ids`);
            log.accepted.set(webhook.key, eventId);
            log.acceptedAt.push(Date.now());
          }
          return;
        }
        if (response.status === 503 || response.status === 429) {
          const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
          if (!Number.isFinite(retryAfter)) log.violations.push(`${response.status} without Retry-After`);
          else waitMs = Math.min(Math.max(retryAfter * 1000, waitMs), 5_000);
        } else {
          log.violations.push(`status ${response.status} for ${webhook.key}: ${text.slice(0, 200)}`);
          return;
        }
      } catch (error) {
        log.connectionErrors += 1;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        if (log.connectionErrorSamples.length < 5) log.connectionErrorSamples.push(`${(error as Error).message}: ${cause?.code ?? cause?.message ?? ''}`);
      }
      await sleep(waitMs * (0.5 + Math.random()));
    }
  }

  async function sender(): Promise<void> {
    for (;;) {
      const index = next++;
      if (index >= webhooks.length) return;
      // Paced: the index-th webhook leaves no earlier than its slot.
      const slot = started + index * interval;
      while (!hurried && slot > Date.now()) await sleep(Math.min(slot - Date.now(), 500));
      await deliver(webhooks[index]!);
    }
  }

  const done = Promise.all(Array.from({ length: options.concurrency }, () => sender())).then(() => log);
  return {
    done,
    hurry() {
      hurried = true;
    },
  };
}
