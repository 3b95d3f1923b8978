import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { addressedOf, origins } from '../../src/http/origins.ts';

const request = (headers: Record<string, string>, localPort = 3939) => ({ headers, socket: { localPort } }) as unknown as IncomingMessage;

describe('origins when server.publicUrl is set', () => {
  const o = origins({ publicUrl: 'https://lectern.example.com/team', contentUrl: undefined, mainPort: () => 3939, contentPort: () => 3940 });
  const evil = { protocol: 'http', hostname: 'evil.example' };

  it('builds both origins from the configuration, never from the request', () => {
    expect(o.main(evil)).toBe('https://lectern.example.com/team');
    expect(o.content(evil)).toBe('https://lectern.example.com:3940');
    expect(o.own(evil)).toBe('https://lectern.example.com');
    expect(o.configuredFor(request({ host: 'evil.example' }, 3940))).toBe('https://lectern.example.com:3940');
    expect(o.configuredFor(request({ host: 'evil.example' }, 3939))).toBe('https://lectern.example.com/team');
  });

  it("takes a request on a Unix socket (the nginx front's, a proxy worker's hand-over) as the content origin's", () => {
    const onSocket = { headers: { host: 'evil.example' }, socket: {} } as unknown as IncomingMessage;
    expect(o.configuredFor(onSocket)).toBe('https://lectern.example.com:3940');
  });

  it('prefers server.contentUrl for the content origin', () => {
    const c = origins({ publicUrl: 'https://lectern.example.com', contentUrl: 'https://content.example.com', mainPort: () => 3939, contentPort: () => 3940 });
    expect(c.content(evil)).toBe('https://content.example.com');
  });
});

describe('a raw request as Express would see it', () => {
  it("believes X-Forwarded-* only from a trusted proxy, and drops the Host header's port", () => {
    const req = request({ host: '[::1]:3939', 'x-forwarded-host': 'lectern.example.com, other', 'x-forwarded-proto': 'https' });
    expect(addressedOf(req, 0)).toEqual({ protocol: 'http', hostname: '[::1]' });
    expect(addressedOf(req, 1)).toEqual({ protocol: 'https', hostname: 'lectern.example.com' });
    expect(addressedOf(request({ host: 'example.org:8080' }), 0)).toEqual({ protocol: 'http', hostname: 'example.org' });
  });
});
