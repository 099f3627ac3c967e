import { BlockList, isIP } from 'node:net';

/**
 * The client address of a request. X-Forwarded-For is believed only when the direct peer is a
 * configured proxy, and then only as far as the chain stays inside trusted proxies: the first
 * untrusted address from the right is the client (anything left of it could be forged).
 */
export function createSourceAddressResolver(trustedProxies: readonly string[]) {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, type);
    else trusted.addSubnet(address, Number(bits), type);
  }
  const isTrusted = (address: string) => {
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && trusted.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };

  return function sourceAddress(peer: string | undefined, forwardedFor: string | undefined): string | null {
    if (!peer) return null;
    const direct = unmapped(peer);
    if (trustedProxies.length === 0 || !forwardedFor || !isTrusted(direct)) return direct;
    const hops = forwardedFor.split(',').map((hop) => hop.trim()).filter(Boolean);
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = unmapped(hops[index]!);
      if (isIP(hop) === 0) return direct;
      if (!isTrusted(hop)) return hop;
    }
    return hops.length > 0 ? unmapped(hops[0]!) : direct;
  };
}

/** `::ffff:10.0.0.1` is the IPv4 address 10.0.0.1 arriving on a dual-stack socket. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
