/** A tiny element builder: no framework, no innerHTML (every text goes in as text). */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'object' ? child : String(child));
  }
  return element;
}

export function replace(target: Element, ...children: (Child | Child[])[]): void {
  target.replaceChildren();
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) target.append(typeof child === 'object' ? child : String(child));
}

export const time = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
export const pretty = (value: unknown) => JSON.stringify(value, null, 2);

export function field(label: string, input: HTMLElement): HTMLLabelElement {
  return h('label', {}, h('span', {}, label), input);
}

/** The "requested by" and "reason" every action asks for, remembered for the tab. */
export function whoAndWhy(): { element: HTMLElement; values(): { requestedBy: string; reason: string } } {
  const requestedBy = h('input', { name: 'requestedBy', 'data-testid': 'requested-by', value: sessionStorage.getItem('hookgate.requestedBy') ?? '' });
  const reason = h('input', { name: 'reason', 'data-testid': 'reason', placeholder: 'why (3–500 characters)' });
  return {
    element: h('div', { class: 'who' }, field('Requested by', requestedBy), field('Reason', reason)),
    values() {
      sessionStorage.setItem('hookgate.requestedBy', requestedBy.value);
      return { requestedBy: requestedBy.value, reason: reason.value };
    },
  };
}

/** Shows a mutation's outcome: its typed error (ValidationError lists each field) or a success line. */
export function outcome(target: Element, result: { __typename: string; message?: string; fieldErrors?: { path: string[]; message: string }[] }, success: string): boolean {
  if ('message' in result && result.message !== undefined && result.__typename.endsWith('Error')) {
    replace(
      target,
      h('div', { class: 'error', 'data-testid': 'action-error' }, `${result.__typename}: ${result.message}`),
      ...(result.fieldErrors ?? []).map((fe) => h('div', { class: 'error' }, `${fe.path.join('.')}: ${fe.message}`)),
    );
    return false;
  }
  replace(target, h('div', { class: 'ok', 'data-testid': 'action-ok' }, success));
  return true;
}
