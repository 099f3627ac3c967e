/**
 * Where a process spent its CPU, from a V8 `.cpuprofile` (what `node --cpu-prof` writes): self
 * time per function and per bucket — our own files, each package, Node's internals, the GC.
 * Pure: the caller reads the file; nothing here touches the disk or the clock.
 */

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber?: number; columnNumber?: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds on the machine's monotonic clock. */
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  samples: number;
  percent: number;
}

export interface FunctionSelfTime extends SelfTime {
  name: string;
  location: string;
  bucket: string;
}

export interface BucketSelfTime extends SelfTime {
  bucket: string;
  /**
   * Self time plus that of the Node internals and native code it called: `node:` and `(native)`
   * samples charged to the nearest caller in our code or a package (what it cost to use it).
   */
  charged: SelfTime;
}

export interface CpuProfileSummary {
  totalSamples: number;
  /** Span of the samples counted, in milliseconds. */
  spanMs: number;
  /** Whether only the samples inside a time window were counted. */
  windowed: boolean;
  topFunctions: FunctionSelfTime[];
  buckets: BucketSelfTime[];
}

const SPECIAL = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);

function stripFileScheme(url: string): string {
  return url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
}

/** `node_modules/<pkg>` (scoped: `@scope/name`), `node:`, `src/<file>`, a special V8 entry, or `(native)`. */
export function bucketOf(frame: { functionName: string; url: string }, projectRoot: string): string {
  if (SPECIAL.has(frame.functionName)) return frame.functionName;
  const url = frame.url;
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node:';
  const path = stripFileScheme(url);
  const marker = path.lastIndexOf('/node_modules/');
  if (marker >= 0) {
    const [first = '', second = ''] = path.slice(marker + '/node_modules/'.length).split('/');
    return `node_modules/${first.startsWith('@') ? `${first}/${second}` : first}`;
  }
  const root = projectRoot.endsWith('/') ? projectRoot : `${projectRoot}/`;
  return path.startsWith(root) ? path.slice(root.length) : path;
}

/** A short place for a function: `kafkajs/src/producer/sendMessages.js:42`, `src/http.ts`, `node:_http_server:1`. */
export function shortLocation(frame: CpuProfileNode['callFrame'], projectRoot: string): string {
  if (frame.url === '') return '';
  const path = stripFileScheme(frame.url);
  const marker = path.lastIndexOf('/node_modules/');
  const root = projectRoot.endsWith('/') ? projectRoot : `${projectRoot}/`;
  const short =
    marker >= 0 ? path.slice(marker + '/node_modules/'.length) : path.startsWith(root) ? path.slice(root.length) : path;
  // TypeScript run through tsx: V8's line numbers are the generated code's, not the source's.
  const transpiled = /\.[cm]?tsx?$/.test(short);
  return !transpiled && frame.lineNumber !== undefined && frame.lineNumber >= 0 ? `${short}:${frame.lineNumber + 1}` : short;
}

/** Counts each node's samples, only those taken inside `[window.startUs, window.endUs]` if given. */
function selfSamples(profile: CpuProfile, window?: { startUs: number; endUs: number }): Map<number, number> {
  const counts = new Map<number, number>();
  if (!profile.samples || !profile.timeDeltas) {
    for (const node of profile.nodes) if (node.hitCount) counts.set(node.id, node.hitCount);
    return counts;
  }
  let at = profile.startTime;
  profile.samples.forEach((nodeId, index) => {
    at += profile.timeDeltas![index] ?? 0;
    if (window && (at < window.startUs || at > window.endUs)) return;
    counts.set(nodeId, (counts.get(nodeId) ?? 0) + 1);
  });
  return counts;
}

/** Buckets that are somebody's code; `node:` and `(native)` work is charged to the nearest of these up the stack. */
function isOwnerBucket(bucket: string): boolean {
  return bucket !== 'node:' && bucket !== '(native)';
}

/**
 * Self time as a share of all samples counted. With `window` (microseconds on the profile's
 * clock) only samples inside it count — e.g. the measured load, without start-up and shutdown.
 */
export function summarizeCpuProfile(
  profile: CpuProfile,
  options: { projectRoot: string; top?: number; window?: { startUs: number; endUs: number } },
): CpuProfileSummary {
  const counts = selfSamples(profile, options.window);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const bucketFor = (node: CpuProfileNode) => bucketOf(node.callFrame, options.projectRoot);
  const owners = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const known = owners.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const own = bucketFor(node);
    const parent = parentOf.get(id);
    const owner = isOwnerBucket(own) || parent === undefined || byId.get(parent)!.callFrame.functionName === '(root)' ? own : ownerOf(parent);
    owners.set(id, owner);
    return owner;
  };

  const functions = new Map<string, FunctionSelfTime>();
  const buckets = new Map<string, { samples: number; charged: number }>();
  const bucketEntry = (bucket: string) => buckets.get(bucket) ?? buckets.set(bucket, { samples: 0, charged: 0 }).get(bucket)!;
  let total = 0;
  for (const [id, samples] of counts) {
    const node = byId.get(id);
    if (!node) continue;
    total += samples;
    const bucket = bucketFor(node);
    const owner = ownerOf(id);
    bucketEntry(bucket).samples += samples;
    bucketEntry(owner).charged += samples;
    // One function reached along several call paths is several nodes: add them up. Native
    // functions are told apart by who called them (a socket write from Redis or from HTTP).
    const name = node.callFrame.functionName || '(anonymous)';
    const location =
      node.callFrame.url === '' && !SPECIAL.has(name) && owner !== bucket ? `(native) ← ${owner}` : shortLocation(node.callFrame, options.projectRoot);
    const key = `${name}\u0000${location}`;
    const entry = functions.get(key) ?? { name, location, bucket, samples: 0, percent: 0 };
    entry.samples += samples;
    functions.set(key, entry);
  }
  const percent = (samples: number) => (total === 0 ? 0 : (100 * samples) / total);
  const bySamples = (a: SelfTime, b: SelfTime) => b.samples - a.samples;
  return {
    totalSamples: total,
    spanMs: options.window
      ? Math.max(0, Math.min(options.window.endUs, profile.endTime) - Math.max(options.window.startUs, profile.startTime)) / 1000
      : (profile.endTime - profile.startTime) / 1000,
    windowed: options.window !== undefined,
    topFunctions: [...functions.values()]
      .map((entry) => ({ ...entry, percent: percent(entry.samples) }))
      .sort(bySamples)
      .slice(0, options.top ?? 15),
    buckets: [...buckets.entries()]
      .map(([bucket, { samples, charged }]) => ({
        bucket,
        samples,
        percent: percent(samples),
        charged: { samples: charged, percent: percent(charged) },
      }))
      .sort(bySamples),
  };
}

const pct = (value: number) => `${value.toFixed(1)}%`;
const where = (entry: FunctionSelfTime) =>
  entry.location.startsWith('(native)') ? entry.location : entry.location ? `\`${entry.location}\`` : SPECIAL.has(entry.name) ? '' : '(native)';

/** Two Markdown tables: self time per bucket (down to `minPercent`), then the top functions. */
export function formatCpuSummary(summary: CpuProfileSummary, options: { minPercent?: number } = {}): string {
  const minPercent = options.minPercent ?? 0.5;
  const shown = summary.buckets.filter((bucket) => bucket.percent >= minPercent || bucket.charged.percent >= minPercent);
  const rest = summary.buckets.filter((bucket) => !shown.includes(bucket));
  const restSelf = rest.reduce((sum, bucket) => sum + bucket.percent, 0);
  const restCharged = rest.reduce((sum, bucket) => sum + bucket.charged.percent, 0);
  const bucketRows = shown.map((bucket) => `| \`${bucket.bucket}\` | ${pct(bucket.percent)} | ${pct(bucket.charged.percent)} |`);
  if (rest.length > 0) bucketRows.push(`| ${rest.length} others, each < ${minPercent}% | ${pct(restSelf)} | ${pct(restCharged)} |`);
  const functionRows = summary.topFunctions.map(
    (entry, index) => `| ${index + 1} | \`${entry.name}\` | ${where(entry)} | ${pct(entry.percent)} |`,
  );
  return [
    `Self time, ${summary.totalSamples} samples over ${(summary.spanMs / 1000).toFixed(1)} s${summary.windowed ? ' (measured load only)' : ''}; ` +
      '"charged" adds the `node:` and native work each bucket called to its own:',
    '',
    '| bucket | self | charged |',
    '|---|---:|---:|',
    ...bucketRows,
    '',
    '| # | function | where | self |',
    '|---:|---|---|---:|',
    ...functionRows,
  ].join('\n');
}
