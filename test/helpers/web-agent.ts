/**
 * A browser in miniature for the single sign-on tests: one cookie jar for every origin on the
 * host (cookies ignore ports, as the real ones do; a cookie's path is kept), redirects
 * followed or stopped where a test wants to look, and HTML forms submitted with their fields.
 */
export interface AgentPage {
  url: string;
  status: number;
  text: string;
  location: string | null;
}

export class WebAgent {
  private readonly jar = new Map<string, { name: string; value: string; path: string }>();

  cookie(name: string): string | undefined {
    return [...this.jar.values()].find((c) => c.name === name)?.value;
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<AgentPage> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookies = [...this.jar.values()].filter((c) => u.pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`);
    if (cookies.length) headers.cookie = cookies.join('; ');
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const path =
        attrs
          .map((a) => a.trim())
          .find((a) => /^path=/i.test(a))
          ?.slice(5) || '/';
      const key = `${name};${path}`;
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c) || /max-age=0\b/i.test(c)) this.jar.delete(key);
      else this.jar.set(key, { name, value, path });
    }
    const location = res.headers.get('location');
    return { url, status: res.status, text: await res.text(), location: location === null ? null : new URL(location, url).href };
  }

  /** Follows redirects from `url`; stops before requesting an address `stopBefore` picks (returned as the location). */
  async follow(url: string, stopBefore?: (next: string) => boolean, init: { form?: Record<string, string> } = {}): Promise<AgentPage> {
    let page = await this.request(url, init);
    for (let hops = 0; page.location && page.status >= 300 && page.status < 400; hops++) {
      if (hops > 20) throw new Error(`too many redirects from ${url}`);
      if (stopBefore?.(page.location)) return page;
      page = await this.request(page.location);
    }
    return page;
  }

  /** The page's first POST form: its action (absolute) and its named fields. */
  static formOf(page: AgentPage): { action: string; fields: Record<string, string> } {
    const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(page.text);
    if (!form) throw new Error(`no form on ${page.url}: ${page.text.slice(0, 500)}`);
    const action = /action="([^"]*)"/i.exec(form[0])?.[1] ?? page.url;
    const fields: Record<string, string> = {};
    for (const m of form[1]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = /name="([^"]*)"/i.exec(m[0])?.[1];
      if (name) fields[name] = decodeEntities(/value="([^"]*)"/i.exec(m[0])?.[1] ?? '');
    }
    return { action: new URL(decodeEntities(action), page.url).href, fields };
  }

  /** Submits the page's form with `fields` over its own; follows redirects as `follow` does. */
  async submit(page: AgentPage, fields: Record<string, string> = {}, stopBefore?: (next: string) => boolean): Promise<AgentPage> {
    const form = WebAgent.formOf(page);
    return this.follow(form.action, stopBefore, { form: { ...form.fields, ...fields } });
  }
}

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#x2F;/gi, '/')
    .replace(/&#x3D;/gi, '=')
    .replace(/&amp;/g, '&');
}
