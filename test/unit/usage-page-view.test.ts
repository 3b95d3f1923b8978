import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isApiMode, isPageView, isShinyMode } from '../../proxy/usage.ts';

function seen(method: string, headers: Record<string, string>, status: number, contentType?: string) {
  const req = { method, headers } as unknown as IncomingMessage;
  const res = { statusCode: status, getHeader: (n: string) => (n === 'content-type' ? contentType : undefined) } as unknown as ServerResponse;
  return isPageView(req, res);
}

describe('what counts as a page view (connect-api-next.md §7.0)', () => {
  it('a browser navigation or a dashboard frame, whatever the type', () => {
    expect(seen('GET', { 'sec-fetch-dest': 'document' }, 200, 'text/html')).toBe(true);
    expect(seen('GET', { 'sec-fetch-dest': 'iframe' }, 304)).toBe(true);
  });
  it("not a browser's asset or script fetch, even of HTML", () => {
    expect(seen('GET', { 'sec-fetch-dest': 'style' }, 200, 'text/css')).toBe(false);
    expect(seen('GET', { 'sec-fetch-dest': 'empty' }, 200, 'text/html')).toBe(false);
  });
  it('for other clients: an HTML answer', () => {
    expect(seen('GET', {}, 200, 'text/html; charset=utf-8')).toBe(true);
    expect(seen('GET', {}, 200, 'image/png')).toBe(false);
    expect(seen('GET', {}, 200, 'application/javascript')).toBe(false);
  });
  it('never a redirect, an error or another method', () => {
    expect(seen('GET', {}, 302, 'text/html')).toBe(false);
    expect(seen('GET', { 'sec-fetch-dest': 'document' }, 404, 'text/html')).toBe(false);
    expect(seen('POST', {}, 200, 'text/html')).toBe(false);
  });
  it('API modes are told apart (each of their requests is a visit)', () => {
    for (const m of ['api', 'python-api', 'python-fastapi']) expect(isApiMode(m)).toBe(true);
    for (const m of ['static', 'shiny', 'python-dash']) expect(isApiMode(m)).toBe(false);
  });
  it("Shiny's modes, and only they, have sessions", () => {
    for (const m of ['shiny', 'rmd-shiny', 'quarto-shiny', 'python-shiny']) expect(isShinyMode(m)).toBe(true);
    for (const m of ['python-dash', 'api', 'static']) expect(isShinyMode(m)).toBe(false);
  });
});
