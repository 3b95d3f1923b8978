import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// ejs ships no types; express renders the views with it (views/).
const ejs = createRequire(import.meta.url)('ejs') as { renderFile(file: string, data: Record<string, unknown>): Promise<string> };
const VIEW = path.resolve(import.meta.dirname, '../../views/login.ejs');
const render = (locals: Record<string, unknown>) =>
  ejs.renderFile(VIEW, { title: 'Log in', user: undefined, csrfToken: 'tok', next: '/apps/x?y=1', error: null, username: '', ...locals });

describe('the login page', () => {
  it('offers a button per redirect provider, keeping where the user was going, and the password form', async () => {
    const html = await render({
      passwordForm: true,
      buttons: [
        { name: 'corp-oidc', label: 'Corp SSO' },
        { name: 'saml', label: 'Okta' },
      ],
    });
    expect(html).toContain('<a class="button" href="/__login__/corp-oidc?next=%2Fapps%2Fx%3Fy%3D1">Log in with Corp SSO</a>');
    expect(html).toContain('href="/__login__/saml?next=');
    expect(html).toContain('aria-label="Log in with"');
    expect(html).toContain('<label>Password <input name="password" type="password"');
    // With buttons first, nothing steals the focus from them.
    expect(html).not.toContain('autofocus');
  });

  it('shows the form alone without redirect providers, and says so when there is no way at all', async () => {
    const form = await render({ passwordForm: true, buttons: [] });
    expect(form).not.toContain('__login__');
    expect(form).toContain('autofocus');
    const none = await render({ passwordForm: false, buttons: [] });
    expect(none).not.toContain('name="password"');
    expect(none).toContain('No way of logging in through this page is configured');
    const sso = await render({ passwordForm: false, buttons: [{ name: 'oidc', label: '<b>x</b>' }] });
    expect(sso).not.toContain('name="password"');
    expect(sso).toContain('Log in with &lt;b&gt;x&lt;/b&gt;');
  });
});
