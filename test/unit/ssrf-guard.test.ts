import { describe, expect, it } from 'vitest';
import { createSsrfGuard, forbiddenAddressReason, type SsrfGuardOptions } from '../../src/consumers/ssrf-guard.js';

const DNS: Record<string, string[]> = {
  'hooks.example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'internal.example.com': ['127.0.0.1'],
  'split.example.com': ['93.184.216.34', '10.1.2.3'],
  'metadata.example.com': ['169.254.169.254'],
  'mapped.example.com': ['::ffff:10.0.0.1'],
  'scoped.example.com': ['fe80::1%eth0'],
};

async function fakeResolve(hostname: string) {
  const addresses = DNS[hostname.replace(/\.$/, '')];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

const refused = (pattern: RegExp) => ({ ok: false, kind: 'forbidden', reason: expect.stringMatching(pattern) });

function guard(options: Partial<SsrfGuardOptions> = {}) {
  return createSsrfGuard({ allowedHosts: [], requireHttps: false, resolve: fakeResolve, ...options });
}

describe('forbiddenAddressReason', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fd00::1', 'private'],
    ['FC00::ABCD', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['FE80::1%lo', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['100.64.0.1', 'CGNAT'],
    ['100.127.255.254', 'CGNAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'IETF'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.1', 'benchmarking'],
    ['100::1', 'discard'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ])('%s is %s', (address, name) => {
    expect(forbiddenAddressReason(address)).toMatch(new RegExp(name));
  });

  it.each([
    ['::ffff:127.0.0.1', 'IPv4-mapped form of 127.0.0.1, a loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1, a loopback'],
    ['::FFFF:7F00:0001', 'IPv4-mapped form of 127.0.0.1, a loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'IPv4-mapped form of 169.254.169.254, a link-local'],
    ['64:ff9b::a00:1', 'NAT64 form of 10.0.0.1, a private'],
    ['64:ff9b::192.168.0.1', 'NAT64 form of 192.168.0.1, a private'],
    ['64:ff9b:1::7f00:1', 'local-use NAT64 form of 127.0.0.1, a loopback'],
    ['2002:7f00:1::', '6to4 form of 127.0.0.1, a loopback'],
    ['2002:a9fe:a9fe:1::1', '6to4 form of 169.254.169.254, a link-local'],
  ])('%s judges the embedded IPv4 address', (address, reason) => {
    expect(forbiddenAddressReason(address)).toContain(reason);
  });

  it('refuses the deprecated IPv4-compatible form whatever it embeds', () => {
    expect(forbiddenAddressReason('::127.0.0.1')).toMatch(/IPv4-compatible/);
    expect(forbiddenAddressReason('::8.8.8.8')).toMatch(/IPv4-compatible/);
  });

  it('refuses a local-use NAT64 address whose IPv4 part is not in the low 32 bits', () => {
    expect(forbiddenAddressReason('64:ff9b:1:7f00:1::')).toMatch(/local-use NAT64/);
  });

  it('refuses scoped and unassigned addresses and anything that is not an address', () => {
    expect(forbiddenAddressReason('2606:4700::1%eth0')).toMatch(/zone id/);
    expect(forbiddenAddressReason('4000::1')).toMatch(/reserved/);
    expect(forbiddenAddressReason('localhost')).toMatch(/not an IP address/);
    expect(forbiddenAddressReason('127.1')).toMatch(/not an IP address/);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '64:ff9b:1::808:808',
    '2002:808:808::1',
  ])('%s is public', (address) => {
    expect(forbiddenAddressReason(address)).toBeNull();
  });
});

describe('ssrf guard', () => {
  it('accepts a name whose addresses are all public and returns the first to connect to', async () => {
    const result = await guard().check('https://hooks.example.com:8443/in?x=1');
    expect(result).toMatchObject({ ok: true, address: '93.184.216.34', family: 4 });
    expect(result.ok && result.url.href).toBe('https://hooks.example.com:8443/in?x=1');
  });

  it.each([
    ['http://8.8.8.8/hook', '8.8.8.8', 4],
    ['http://1.1.1.1:8080/', '1.1.1.1', 4],
    ['https://[2606:4700:4700::1111]/', '2606:4700:4700::1111', 6],
  ])('accepts the public literal %s', async (url, address, family) => {
    expect(await guard().check(url)).toMatchObject({ ok: true, address, family });
  });

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://[::1]:8080/', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['http://100.64.0.1/', 'CGNAT'],
    ['http://[fd00::1]/', 'private'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[64:ff9b::a00:1]/', 'private'],
    ['http://[2002:7f00:1::]/', 'loopback'],
    // The URL parser turns these shorthand and numeric forms into 127.0.0.1 before we look.
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
  ])('refuses the literal %s as %s', async (url, name) => {
    const result = await guard().check(url);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(new RegExp(name));
  });

  it('refuses a name that resolves to a loopback address, naming the address and its class', async () => {
    expect(await guard().check('http://internal.example.com/')).toEqual({
      ok: false,
      kind: 'forbidden',
      reason: 'internal.example.com resolves to 127.0.0.1, a loopback address',
    });
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const result = await guard().check('http://split.example.com/');
    expect(result).toEqual({ ok: false, kind: 'forbidden', reason: 'split.example.com resolves to 10.1.2.3, a private address' });
  });

  it('refuses names resolving to metadata, mapped and scoped addresses', async () => {
    expect(await guard().check('http://metadata.example.com/')).toMatchObject(refused(/link-local/));
    expect(await guard().check('http://mapped.example.com/')).toMatchObject(refused(/10\.0\.0\.1, a private/));
    expect(await guard().check('http://scoped.example.com/')).toMatchObject(refused(/link-local/));
  });

  it('accepts a name allow-listed by name, whatever its case or trailing dot', async () => {
    const allowed = guard({ allowedHosts: ['Internal.Example.COM'] });
    expect(await allowed.check('http://INTERNAL.example.com./')).toMatchObject({ ok: true, address: '127.0.0.1', family: 4 });
    // The name list is exact: a subdomain or a sibling is not covered.
    expect(await allowed.check('http://split.example.com/')).toMatchObject({ ok: false });
  });

  it('accepts non-public addresses inside an allow-listed CIDR and nothing outside it', async () => {
    const allowed = guard({ allowedHosts: ['127.0.0.0/8', 'fd00::/8', '10.9.9.9'] });
    expect(await allowed.check('http://internal.example.com/')).toMatchObject({ ok: true, address: '127.0.0.1' });
    expect(await allowed.check('http://127.1.2.3:9000/')).toMatchObject({ ok: true, address: '127.1.2.3' });
    expect(await allowed.check('http://[fd00::5]/')).toMatchObject({ ok: true, address: 'fd00::5', family: 6 });
    expect(await allowed.check('http://10.9.9.9/')).toMatchObject({ ok: true });
    expect(await allowed.check('http://10.9.9.10/')).toMatchObject(refused(/private/));
    expect(await allowed.check('http://split.example.com/')).toMatchObject(refused(/10\.1\.2\.3/));
  });

  it('refuses an allow-list entry that is neither a name nor a valid CIDR', () => {
    expect(() => guard({ allowedHosts: ['10.0.0.0/33'] })).toThrow(/prefix/);
    expect(() => guard({ allowedHosts: ['example.com/8'] })).toThrow(/neither/);
  });

  it('refuses plain http when https is required, and accepts https', async () => {
    const strict = guard({ requireHttps: true });
    expect(await strict.check('http://hooks.example.com/')).toMatchObject(refused(/use https/));
    expect(await strict.check('https://hooks.example.com/')).toMatchObject({ ok: true });
  });

  it.each(['ftp://hooks.example.com/', 'file:///etc/passwd', 'gopher://hooks.example.com/', 'ws://hooks.example.com/'])(
    'refuses the non-http scheme of %s',
    async (url) => {
      expect(await guard().check(url)).toMatchObject(refused(/scheme .* is not allowed/));
    },
  );

  it('refuses credentials in the URL without repeating them', async () => {
    for (const url of ['https://user:hunter2@hooks.example.com/', 'https://user@hooks.example.com/']) {
      const result = await guard().check(url);
      expect(result).toMatchObject(refused(/credentials/));
      expect(JSON.stringify(result)).not.toContain('hunter2');
    }
  });

  it('refuses what is not a URL, and zone ids the URL syntax does not allow', async () => {
    expect(await guard().check('hooks.example.com/path')).toMatchObject(refused(/not a valid/));
    expect(await guard().check('http://[fe80::1%25lo]/')).toMatchObject({ ok: false });
  });

  it('reports a name that cannot be resolved as unresolved (a network failure), never as forbidden', async () => {
    expect(await guard().check('https://nowhere.example.net/')).toEqual({
      ok: false,
      kind: 'unresolved',
      reason: 'cannot resolve nowhere.example.net',
      timedOut: false,
    });
    const empty = guard({ resolve: () => Promise.resolve([]) });
    expect(await empty.check('https://hooks.example.com/')).toMatchObject({ ok: false, kind: 'unresolved' });
  });

  it('bounds resolution by the time it is given, and reports a timeout as unresolved', async () => {
    const slow = guard({ resolve: () => new Promise(() => {}) });
    const started = Date.now();
    expect(await slow.check('https://hooks.example.com/', 50)).toMatchObject({ ok: false, kind: 'unresolved', timedOut: true });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reuses answers for a bounded time and a bounded number of names, and never caches a failure', async () => {
    let clock = 0;
    const calls: string[] = [];
    let failNext = true;
    const cached = guard({
      now: () => clock,
      cacheTtlMs: 1000,
      cacheMaxEntries: 2,
      resolve: async (hostname) => {
        calls.push(hostname);
        if (hostname === 'hooks.example.com' && failNext) {
          failNext = false;
          throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
        }
        return fakeResolve(hostname);
      },
    });
    expect(await cached.check('https://hooks.example.com/')).toMatchObject({ ok: false, kind: 'unresolved' });
    expect(await cached.check('https://hooks.example.com/')).toMatchObject({ ok: true, address: '93.184.216.34' });
    expect(await cached.check('https://HOOKS.example.com./a')).toMatchObject({ ok: true, address: '93.184.216.34' });
    expect(calls).toEqual(['hooks.example.com', 'hooks.example.com']);
    // A cached private answer is judged again each time: still refused.
    expect(await cached.check('http://internal.example.com/')).toMatchObject(refused(/loopback/));
    expect(await cached.check('http://internal.example.com/')).toMatchObject(refused(/loopback/));
    expect(calls).toHaveLength(3);
    // A third name pushes out the oldest; an expired answer is asked again.
    await cached.check('http://metadata.example.com/');
    await cached.check('https://hooks.example.com/');
    expect(calls).toHaveLength(5);
    clock += 1001;
    await cached.check('http://metadata.example.com/');
    expect(calls).toHaveLength(6);
  });

  it('checkSyntax judges the URL and literal addresses without resolving anything', () => {
    const syntax = guard({
      requireHttps: true,
      resolve: () => Promise.reject(new Error('must not resolve')),
    });
    expect(syntax.checkSyntax('https://internal.example.com/')).toEqual({ ok: true });
    expect(syntax.checkSyntax('http://hooks.example.com/')).toMatchObject(refused(/https/));
    expect(syntax.checkSyntax('https://a:b@hooks.example.com/')).toMatchObject(refused(/credentials/));
    expect(syntax.checkSyntax('https://10.0.0.1/')).toMatchObject({ ok: false, kind: 'forbidden', reason: '10.0.0.1 is a private address' });
    expect(syntax.checkSyntax('https://8.8.8.8/')).toEqual({ ok: true });
  });
});
