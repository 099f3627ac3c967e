/**
 * A strict reader of the Prometheus text format (0.0.4): every line is a HELP or TYPE comment or a
 * sample `name{label="value",…} number`; anything else throws. Returns the samples by series.
 * Values are read as Prometheus reads them (Go's ParseFloat): NaN and Inf in any letter case, so
 * prom-client's `Nan` (an event-loop lag mean with no samples since the last scrape) is valid.
 */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[nN][aA][nN]|[+-]?[iI][nN][fF])( -?\d+)?$/;

function sampleValue(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return Number.NaN;
  if (lower.endsWith('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`not a Prometheus number: ${text}`);
  return value;
}
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (!name || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? '')) throw new Error(`bad TYPE line: ${line}`);
      types.set(name, type!);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[3] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (!label) throw new Error(`bad labels: ${line}`);
      labels[label[1]!] = label[2]!;
    }
    const family = match[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(match[1]!) && !types.has(family)) throw new Error(`sample without a TYPE: ${line}`);
    samples.push({ name: match[1]!, labels, value: sampleValue(match[4]!) });
  }
  return samples;
}

/** The value of one series (0 when absent: a counter not yet moved). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.find((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  return found?.value ?? 0;
}
