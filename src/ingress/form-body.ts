/**
 * `application/x-www-form-urlencoded` bodies (Twilio, Slack slash commands, Mailgun routes). The raw
 * bytes stay the record; this object is the view stored as `payload`. A field sent once is a string,
 * a field sent several times an array of its values in order, so nothing the provider sent is lost.
 * Object.fromEntries defines own properties: a field named `__proto__` is just a field.
 */
export type FormFields = Record<string, string | string[]>;

export const FORM_CONTENT_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

export function parseFormBody(rawBody: Buffer): FormFields {
  const values = new Map<string, string[]>();
  // Invalid UTF-8 in an escape becomes U+FFFD, as browsers do; never a lone surrogate.
  for (const [name, value] of new URLSearchParams(rawBody.toString('utf8'))) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  return Object.fromEntries([...values].map(([name, list]) => [name, list.length === 1 ? list[0]! : list]));
}

/** The form encoding of a flat object (samples for `hookgate send`): arrays repeat their field. */
export function toFormBody(fields: Record<string, unknown>): Buffer {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      params.append(name, typeof item === 'string' ? item : JSON.stringify(item));
    }
  }
  return Buffer.from(params.toString(), 'utf8');
}
