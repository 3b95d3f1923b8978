import { BlockList, isIP } from 'node:net';

/** `a.b.c.d/n`, `v6::/n`, or a bare address (one host). */
function parse(range: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', bits, extra] = range.trim().split('/');
  const v = isIP(address);
  if (v === 0 || extra !== undefined) return undefined;
  const max = v === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

export function isCidr(range: string): boolean {
  return parse(range) !== undefined;
}

/** An IPv4 client seen on a dual-stack socket (`::ffff:10.0.0.1`) is that IPv4 address. */
function plain(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

/** Whether an address lies in one of the ranges (checked: every range must parse). */
export function cidrMatcher(ranges: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const r of ranges) {
    const p = parse(r);
    if (!p) throw new Error(`not an address or CIDR range: ${r}`);
    list.addSubnet(p.address, p.prefix, p.family);
  }
  return (address) => {
    if (!address) return false;
    const a = plain(address);
    const v = isIP(a);
    return v !== 0 && list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  };
}
