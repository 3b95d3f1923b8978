import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { origins } from '../../src/http/origins.ts';
import { safeNext } from '../../src/http/safe-redirect.ts';

describe('origins and where logging in may lead', () => {
  const o = origins({ publicUrl: undefined, contentUrl: undefined, mainPort: () => 3939, contentPort: () => 3940 });
  const req = (hostname: string) => ({ hostname, protocol: 'http' }) as Request;

  it('builds the content origin from the request host, IPv6 included', () => {
    expect(o.content(req('lectern.example.com'))).toBe('http://lectern.example.com:3940');
    expect(o.content(req('[::1]'))).toBe('http://[::1]:3940');
    expect(o.main(req('[::1]'))).toBe('http://[::1]:3939');
  });

  it('returns to any content-origin address, including vanity paths, and nowhere else', () => {
    const content = 'http://lectern.example.com:3940';
    expect(safeNext(`${content}/sales/q3/`, content)).toBe(`${content}/sales/q3/`);
    expect(safeNext(`${content}/content/abc/`, content)).toBe(`${content}/content/abc/`);
    expect(safeNext('/password', content)).toBe('/password');
    for (const bad of ['//evil.example/', '/\\evil.example', 'https://evil.example/', `${content}.evil.example/`, `${content}@evil.example/`, 42]) {
      expect(safeNext(bad, content), String(bad)).toBe('/');
    }
  });
});
