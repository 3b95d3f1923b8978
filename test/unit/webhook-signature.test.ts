import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signGithubBody, verifyWebhook } from '../../src/services/git/webhook-signature.ts';

const secret = 'a3f1c9e07b5d42861f0e9c3ab7d5e2f4';
const body = Buffer.from('{"ref":"refs/heads/main","after":"0123"}');

describe('webhook signatures', () => {
  it("accept GitHub's HMAC-SHA256 of the exact body, in either hex case", () => {
    const hex = createHmac('sha256', secret).update(body).digest('hex');
    expect(signGithubBody(secret, body)).toBe(`sha256=${hex}`);
    expect(verifyWebhook(secret, body, { hubSignature256: `sha256=${hex}` })).toBe('valid');
    expect(verifyWebhook(secret, body, { hubSignature256: `sha256=${hex.toUpperCase()}` })).toBe('valid');
  });

  it('refuse a signature made with another secret, of another body, or malformed', () => {
    expect(verifyWebhook(secret, body, { hubSignature256: signGithubBody('other', body) })).toBe('invalid');
    // One byte more (a re-serialised body would differ like this).
    expect(verifyWebhook(secret, body, { hubSignature256: signGithubBody(secret, Buffer.concat([body, Buffer.from(' ')])) })).toBe('invalid');
    for (const bad of [
      '',
      'sha256=',
      'sha1=abc',
      `sha256=${'0'.repeat(63)}`,
      `sha256=${'g'.repeat(64)}`,
      signGithubBody(secret, body).replace('sha256=', ''),
    ]) {
      expect(verifyWebhook(secret, body, { hubSignature256: bad }), bad).toBe('invalid');
    }
  });

  it("accept GitLab's token only when it is the secret itself, whatever its length", () => {
    expect(verifyWebhook(secret, body, { gitlabToken: secret })).toBe('valid');
    for (const bad of ['', secret.slice(0, -1), `${secret}0`, secret.toUpperCase()])
      expect(verifyWebhook(secret, body, { gitlabToken: bad }), bad).toBe('invalid');
  });

  it('say when there is no proof at all, and let the signature decide when both come', () => {
    expect(verifyWebhook(secret, body, {})).toBe('missing');
    expect(verifyWebhook(secret, body, { hubSignature256: signGithubBody('other', body), gitlabToken: secret })).toBe('invalid');
  });
});
