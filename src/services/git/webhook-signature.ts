import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** What a webhook request carries to prove it came from whoever holds the item's secret. */
export interface WebhookProof {
  /** GitHub (and Gitea, Forgejo): `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
  hubSignature256?: string | undefined;
  /** GitLab: `X-Gitlab-Token: <the secret itself>`. */
  gitlabToken?: string | undefined;
}

export type WebhookVerdict = 'valid' | 'missing' | 'invalid';

// Both sides are hashed first, so the comparison takes the same time whatever their lengths
// (timingSafeEqual itself throws on a length mismatch, which would say how long the secret is).
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Checks a webhook against the item's secret. A GitHub signature is the HMAC of the exact bytes
 * received, so `body` must be the raw body, not a re-serialised parse of it. When both headers
 * come, the signature is what counts.
 */
export function verifyWebhook(secret: string, body: Buffer, proof: WebhookProof): WebhookVerdict {
  if (proof.hubSignature256 !== undefined) {
    const m = /^sha256=([0-9a-f]{64})$/i.exec(proof.hubSignature256.trim());
    if (!m) return 'invalid';
    const expected = createHmac('sha256', secret).update(body).digest();
    return timingSafeEqual(Buffer.from(m[1]!.toLowerCase(), 'hex'), expected) ? 'valid' : 'invalid';
  }
  if (proof.gitlabToken !== undefined) return sameSecret(proof.gitlabToken, secret) ? 'valid' : 'invalid';
  return 'missing';
}

/** `sha256=<hex>`, as GitHub signs a body (tests and anyone scripting a hook). */
export function signGithubBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}
