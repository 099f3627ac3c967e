/** Reads a graphql-sse (distinct connections) stream and hands each `next` payload to `onNext`. */
export async function openSse<T>(url: string, apiKey: string, body: { query: string; variables?: Record<string, unknown> }, onNext: (data: T) => void) {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: controller.signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-internal-api-key': apiKey },
    body: JSON.stringify(body),
  });
  const reader = response.body!.getReader();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += Buffer.from(value!).toString('utf8');
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const data = frame.split('\n').find((line) => line.startsWith('data:'));
        if (data && frame.includes('event: next')) onNext((JSON.parse(data.slice(5)) as { data: T }).data);
      }
    }
  })();
  return { status: response.status, close: () => controller.abort() };
}
