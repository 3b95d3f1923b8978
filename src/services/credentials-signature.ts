import { createHmac } from 'node:crypto';

/**
 * Apps learn who the viewer is from `RStudio-Connect-Credentials`, which anything that reaches
 * an app's port could send. Lectern signs it, so an app can tell it came from Lectern:
 *
 *     Lectern-Credentials-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<header value>">
 *
 * keyed with the content item's own key, which its processes get as `LECTERN_CREDENTIALS_KEY`
 * (the hex string itself is the HMAC key). One key per item: a signature one app receives is
 * worth nothing to another. The README shows how an app checks it.
 */
export const CREDENTIALS_SIGNATURE_HEADER = 'lectern-credentials-signature';
export const CREDENTIALS_KEY_VARIABLE = 'LECTERN_CREDENTIALS_KEY';

/** A content item's credentials key: HMAC-SHA256(server secret key, "lectern-credentials:" + guid), hex. */
export function credentialsKey(secretKey: Buffer, contentGuid: string): string {
  return createHmac('sha256', secretKey).update(`lectern-credentials:${contentGuid}`).digest('hex');
}

/** The signature header's value for one credentials header value, at `nowMs`. */
function signCredentials(key: string, credentials: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${createHmac('sha256', key).update(`${t}.${credentials}`).digest('hex')}`;
}

/** Signs for content with keys derived from the server's secret key (what the proxy holds). */
export class CredentialsSigner {
  // Every proxied request is signed: each item's key is derived once, not per request.
  private readonly keys = new Map<string, string>();

  constructor(private readonly secretKey: Buffer) {}

  // A signature names its second: the viewers of this second are signed once each, not per request.
  private second = 0;
  private signed = new Map<string, string>();

  sign(contentGuid: string, credentials: string, nowMs = Date.now()): string {
    const t = Math.floor(nowMs / 1000);
    if (t !== this.second) {
      this.second = t;
      this.signed = new Map();
    }
    const id = `${contentGuid}\n${credentials}`;
    let signature = this.signed.get(id);
    if (signature === undefined) {
      let key = this.keys.get(contentGuid);
      if (key === undefined) {
        key = credentialsKey(this.secretKey, contentGuid);
        this.keys.set(contentGuid, key);
      }
      signature = signCredentials(key, credentials, nowMs);
      this.signed.set(id, signature);
    }
    return signature;
  }
}
