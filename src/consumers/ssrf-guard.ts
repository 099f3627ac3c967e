import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/**
 * `forbidden` is a judgement (the URL or an address it resolves to may not be a target) and is
 * final; `unresolved` is a network failure (no answer, or no answer in time) and is retried like
 * any other network error.
 */
export type DestinationCheck =
  | { ok: true; url: URL; address: string; family: 4 | 6 }
  | { ok: false; kind: 'forbidden'; reason: string }
  | { ok: false; kind: 'unresolved'; reason: string; timedOut: boolean };

export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface SsrfGuardOptions {
  /** Hostnames (exact, case-insensitive) or IPv4/IPv6 addresses and CIDRs that may be non-public. */
  allowedHosts: readonly string[];
  requireHttps: boolean;
  /** The system resolver by default; tests pass their own. */
  resolve?: Resolver;
  /** How long a name's answers are reused (default 5 s); 0 turns the cache off. */
  cacheTtlMs?: number;
  /** At most this many names are remembered (default 1024); the oldest entry goes first. */
  cacheMaxEntries?: number;
  now?: () => number;
}

type SyntaxCheck = { ok: true } | { ok: false; kind: 'forbidden'; reason: string };
type Answers = { address: string; family: number }[];

const resolveAll = (hostname: string) => lookup(hostname, { all: true, verbatim: true });

/**
 * Decides whether a delivery may go to a URL. A name is resolved to every address it has and is
 * refused when any of them is non-public (one private answer is enough for a rebinding attacker),
 * unless the name, or that address, is allow-listed. The address returned is the one that was
 * judged: the sender must connect to it and not resolve the name again.
 */
export function createSsrfGuard(options: SsrfGuardOptions) {
  const resolve = options.resolve ?? resolveAll;
  const ttlMs = options.cacheTtlMs ?? 5_000;
  const maxEntries = options.cacheMaxEntries ?? 1024;
  const now = options.now ?? Date.now;
  // Only successful answers are cached, and they are judged again on every check (the allow-list
  // is fixed, so the verdict is the same); the address handed out is always one of these answers.
  const cache = new Map<string, { answers: Answers; expiresAt: number }>();

  async function lookupCached(host: string, timeoutMs: number | undefined): Promise<Answers> {
    const key = normalizedName(host);
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now()) return hit.answers;
    if (hit) cache.delete(key);
    const answers = await withTimeout(resolve(host), timeoutMs);
    if (ttlMs > 0 && answers.length > 0) {
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(key, { answers, expiresAt: now() + ttlMs });
    }
    return answers;
  }
  const allowedNames = new Set<string>();
  const allowedAddresses = new BlockList();
  for (const entry of options.allowedHosts) {
    if (entry.trim() !== '') addAllowed(entry.trim(), allowedNames, allowedAddresses);
  }

  const addressAllowed = (address: string) => {
    const family = isIP(address);
    // A scoped address (fe80::1%eth0) only passes through an allow-listed name.
    return family !== 0 && !address.includes('%') && allowedAddresses.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };

  const forbidden = (reason: string) => ({ ok: false, kind: 'forbidden', reason }) as const;

  function parse(raw: string): { ok: true; url: URL; host: string; literal: boolean } | { ok: false; kind: 'forbidden'; reason: string } {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return forbidden('not a valid absolute URL');
    }
    if (url.protocol !== 'https:' && (url.protocol !== 'http:' || options.requireHttps)) {
      const allowed = options.requireHttps ? 'https' : 'http or https';
      return forbidden(`scheme ${url.protocol.slice(0, -1)} is not allowed; use ${allowed}`);
    }
    // Never echo credentials back: the reason ends up in operator-visible errors.
    if (url.username !== '' || url.password !== '') return forbidden('URL must not contain credentials (user:pass@)');
    if (url.port === '0') return forbidden('port 0 is not a valid destination port');
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (host === '') return forbidden('URL has no host');
    return { ok: true, url, host, literal: isIP(host) !== 0 };
  }

  function judgeLiteral(address: string): SyntaxCheck {
    const reason = addressAllowed(address) ? null : forbiddenAddressReason(address);
    return reason === null ? { ok: true } : forbidden(`${address} is ${reason}`);
  }

  return {
    /** The URL-only part of `check` (no DNS): scheme, credentials, port, and literal IP hosts. */
    checkSyntax(raw: string): SyntaxCheck {
      const parsed = parse(raw);
      if (!parsed.ok) return parsed;
      return parsed.literal ? judgeLiteral(parsed.host) : { ok: true };
    },

    /** `timeoutMs` bounds the name resolution: it is part of the attempt's one deadline. */
    async check(raw: string, timeoutMs?: number): Promise<DestinationCheck> {
      const parsed = parse(raw);
      if (!parsed.ok) return parsed;
      const { url, host } = parsed;
      if (parsed.literal) {
        const judged = judgeLiteral(host);
        return judged.ok ? { ok: true, url, address: host, family: isIP(host) as 4 | 6 } : judged;
      }

      let answers: Answers;
      try {
        answers = await lookupCached(host, timeoutMs);
      } catch (error) {
        const timedOut = error instanceof ResolveTimeout;
        const reason = timedOut ? `resolving ${host} took longer than ${timeoutMs} ms` : `cannot resolve ${host}`;
        return { ok: false, kind: 'unresolved', reason, timedOut };
      }
      if (answers.length === 0) return { ok: false, kind: 'unresolved', reason: `cannot resolve ${host}`, timedOut: false };

      const nameAllowed = allowedNames.has(normalizedName(host));
      let chosen: { address: string; family: 4 | 6 } | undefined;
      for (const { address } of answers) {
        const family = isIP(address);
        if (family === 0) return forbidden(`${host} resolves to ${address}, not an IP address`);
        const reason = nameAllowed || addressAllowed(address) ? null : forbiddenAddressReason(address);
        if (reason !== null) return forbidden(`${host} resolves to ${address}, ${reason}`);
        chosen ??= { address, family: family as 4 | 6 };
      }
      return { ok: true, url, ...chosen! };
    },
  };
}

class ResolveTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ResolveTimeout()), Math.max(0, timeoutMs));
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function addAllowed(entry: string, names: Set<string>, addresses: BlockList): void {
  const [rawAddress = '', bits, extra] = entry.split('/');
  const address = rawAddress.startsWith('[') && rawAddress.endsWith(']') ? rawAddress.slice(1, -1) : rawAddress;
  const family = address.includes('%') ? 0 : isIP(address);
  if (family === 0) {
    const name = normalizedName(entry);
    if (bits !== undefined || name === '') throw new Error(`allowed host "${entry}" is neither a hostname nor an IP/CIDR`);
    names.add(name);
    return;
  }
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) {
    addresses.addAddress(address, type);
    return;
  }
  const prefix = Number(bits);
  if (extra !== undefined || !/^\d{1,3}$/.test(bits) || prefix > (family === 6 ? 128 : 32)) {
    throw new Error(`allowed host "${entry}" has an invalid prefix length`);
  }
  addresses.addSubnet(address, prefix, type);
}

/** Lower case, punycode, no trailing dot: the form `new URL()` gives a hostname, minus the root dot. */
function normalizedName(name: string): string {
  return domainToASCII(name.toLowerCase()).replace(/\.$/, '');
}

// ---------------------------------------------------------------------------------------------
// Address classes. Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890
// and its updates), RFC 6052 / 8215 (NAT64), RFC 3056 (6to4), RFC 4380 (Teredo), RFC 9637.

const PRIVATE = 'a private address';
const DOCUMENTATION = 'a documentation address';

const IPV4_CLASSES: [string, string][] = [
  ['0.0.0.0/8', 'an unspecified (this-network) address'],
  ['10.0.0.0/8', PRIVATE],
  ['100.64.0.0/10', 'a CGNAT (shared address space) address'],
  ['127.0.0.0/8', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address'],
  ['172.16.0.0/12', PRIVATE],
  ['192.0.0.0/24', 'an IETF protocol assignment address'],
  ['192.0.2.0/24', DOCUMENTATION],
  ['192.88.99.0/24', 'a reserved (deprecated 6to4 relay) address'],
  ['192.168.0.0/16', PRIVATE],
  ['198.18.0.0/15', 'a benchmarking address'],
  ['198.51.100.0/24', DOCUMENTATION],
  ['203.0.113.0/24', DOCUMENTATION],
  ['224.0.0.0/4', 'a multicast address'],
  ['255.255.255.255/32', 'a broadcast address'],
  ['240.0.0.0/4', 'a reserved address'],
];

// Ranges that carry an IPv4 address are handled in ipv6Reason before this list is consulted.
const IPV6_CLASSES: [string, string][] = [
  ['::/128', 'an unspecified address'],
  ['::1/128', 'a loopback address'],
  ['::/96', 'a deprecated IPv4-compatible address'],
  ['100::/64', 'a discard-only address'],
  ['2001::/32', 'a Teredo tunnel address'],
  ['2001:2::/48', 'a benchmarking address'],
  ['2001:db8::/32', DOCUMENTATION],
  ['2001::/23', 'an IETF protocol assignment address'],
  ['3fff::/20', DOCUMENTATION],
  ['fc00::/7', 'a private (unique-local) address'],
  ['fe80::/10', 'a link-local address'],
  ['fec0::/10', 'a private (deprecated site-local) address'],
  ['ff00::/8', 'a multicast address'],
];

const ipv4Ranges = IPV4_CLASSES.map(([cidr, reason]) => {
  const [base = '', bits = ''] = cidr.split('/');
  const prefix = Number(bits);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { network: (ipv4Value(base)! & mask) >>> 0, mask, reason };
});

const ipv6Ranges = IPV6_CLASSES.map(([cidr, reason]) => {
  const [base = '', bits = ''] = cidr.split('/');
  const prefix = BigInt(bits);
  const mask = ((1n << prefix) - 1n) << (128n - prefix);
  return { network: ipv6Value(base)! & mask, mask, reason };
});

const GLOBAL_UNICAST = { network: 1n << 125n, mask: 0x7n << 125n };
const MAPPED = { network: 0xffffn << 32n, mask: ~0n << 32n };
const NAT64 = { network: 0x64ff9bn << 96n, mask: ~0n << 32n };
const NAT64_LOCAL = { network: 0x64ff9b0001n << 80n, mask: ~0n << 80n };
const SIX_TO_FOUR = { network: 0x2002n << 112n, mask: 0xffffn << 112n };

/**
 * Why an address must not be a delivery target ("a loopback address"), or null when it is public.
 * Anything that is not a valid IP address is refused too.
 */
export function forbiddenAddressReason(ip: string): string | null {
  const zone = ip.indexOf('%');
  const address = zone === -1 ? ip : ip.slice(0, zone);
  const v4 = ipv4Value(address);
  if (v4 !== null) return ipv4Reason(v4);
  const v6 = ipv6Value(address);
  if (v6 === null) return 'not an IP address';
  // A zone id only means something on a local link, so a scoped address is never public.
  return ipv6Reason(v6) ?? (zone === -1 ? null : 'a scoped address (zone id)');
}

function ipv4Reason(value: number): string | null {
  return ipv4Ranges.find((range) => ((value & range.mask) >>> 0) === range.network)?.reason ?? null;
}

function ipv6Reason(value: bigint): string | null {
  const inside = (range: { network: bigint; mask: bigint }) => (value & range.mask) === range.network;
  const low32 = Number(value & 0xffffffffn);
  // These forms reach an IPv4 host, so they are exactly as public as that host.
  if (inside(MAPPED)) return embedded('an IPv4-mapped', low32);
  if (inside(NAT64)) return embedded('a NAT64', low32);
  if (inside(NAT64_LOCAL)) {
    // Only the /96 layout puts the IPv4 address in the low 32 bits; other prefix lengths (RFC 6052)
    // spread it around the u-octet, so anything else in bits 48-95 cannot be judged and is refused.
    return (value >> 32n) & 0xffffffffffffn ? 'a local-use NAT64 address' : embedded('a local-use NAT64', low32);
  }
  if (inside(SIX_TO_FOUR)) return embedded('a 6to4', Number((value >> 80n) & 0xffffffffn));
  const listed = ipv6Ranges.find(inside)?.reason;
  if (listed !== undefined) return listed;
  return inside(GLOBAL_UNICAST) ? null : 'a reserved (not global unicast) address';
}

function embedded(form: string, v4: number): string | null {
  const reason = ipv4Reason(v4);
  return reason === null ? null : `${form} form of ${ipv4Text(v4)}, ${reason}`;
}

function ipv4Value(text: string): number | null {
  if (isIP(text) !== 4) return null;
  return text.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function ipv4Text(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

/** Any textual IPv6 form (compressed, upper case, dotted IPv4 tail) as a 128-bit number. */
function ipv6Value(text: string): bigint | null {
  if (isIP(text) !== 6 || text.includes('%')) return null;
  let hex = text;
  const lastColon = hex.lastIndexOf(':');
  const v4 = ipv4Value(hex.slice(lastColon + 1));
  if (v4 !== null) hex = `${hex.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  const [head = '', tail] = hex.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((value, group) => (value << 16n) | BigInt(`0x${group}`), 0n);
}
