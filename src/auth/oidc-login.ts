import * as oidc from 'openid-client';
import type { OidcProviderConfig } from '../config/schema.ts';
import type { LoginAttempt, RedirectCompletion, RedirectLoginProvider, RemoteSession } from './provider.ts';
import type { RemoteLogins } from './remote-identity.ts';
import { claimsComplete, identityFromClaims, MappingError } from './sso-mapping.ts';

/** How long Lectern waits for the identity provider's discovery, token and userinfo endpoints. */
const TIMEOUT_SECONDS = 15;

/**
 * Why openid-client refused an answer, in words for the login page and the audit log. The
 * checks are openid-client's own (signature, issuer, audience, expiry, nonce, state, PKCE);
 * this only names them.
 */
function oidcRefusal(err: unknown): string {
  if (err instanceof oidc.AuthorizationResponseError) {
    return `The identity provider answered with an error: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}.`;
  }
  if (err instanceof oidc.ResponseBodyError) return `The identity provider refused the login: ${err.error}.`;
  // openid-client's ClientError carries oauth4webapi's error as its cause, which says what
  // failed (the claim compared, the response parameter).
  const e = err as { code?: string; message?: string; cause?: { message?: string; cause?: { claim?: string } } };
  const claim = e.cause?.cause?.claim;
  const detail = e.cause?.message ?? '';
  if (claim) {
    const which: Record<string, string> = { nonce: 'a wrong nonce', iss: 'the wrong issuer', aud: 'another audience', azp: 'another party' };
    return `The ID token was refused: it has ${which[claim] ?? `an unexpected "${claim}"`}.`;
  }
  if (/"iss"|issuer/i.test(detail)) return 'The login was refused: the answer comes from another issuer than the configured one.';
  if (/"state"/i.test(detail)) return 'The login was refused: its state does not match.';
  if (/expired|timestamp|"exp"/i.test(detail)) return 'The ID token was refused: it has expired or is not yet valid.';
  if (/signature/i.test(detail)) return 'The ID token was refused: its signature does not verify.';
  return `The login through the identity provider failed: ${e.message ?? String(err)}`;
}

/**
 * OpenID Connect with openid-client 6: discovery from the issuer, the authorization code flow
 * with PKCE (S256), state and nonce kept in the browser's session (server-side) and used once,
 * the ID token checked by openid-client (signature against the issuer's keys, issuer,
 * audience, expiry, nonce), claims mapped by the configuration, userinfo asked when the ID
 * token lacks them; RP-initiated logout and refresh tokens for long sessions.
 */
export function oidcLogin(cfg: OidcProviderConfig, remote: RemoteLogins): RedirectLoginProvider {
  let discovered: Promise<oidc.Configuration> | undefined;
  /** The issuer's metadata, fetched at the first need and kept (again after a failure). */
  const configuration = (): Promise<oidc.Configuration> => {
    discovered ??= oidc
      .discovery(new URL(cfg.issuer), cfg.clientId, undefined, oidc.ClientSecretBasic(cfg.clientSecret), {
        execute: cfg.allowInsecureHttp ? [oidc.allowInsecureRequests] : [],
        timeout: TIMEOUT_SECONDS,
      })
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      });
    return discovered;
  };

  const refuse = async (reason: string, attempt: LoginAttempt, claimed?: string): Promise<RedirectCompletion> => ({
    outcome: await remote.refuse(cfg.name, reason, attempt, claimed),
  });

  /** When to renew: the ID token's expiry, else the access token's. */
  const expiryOf = (tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): number | undefined => {
    const exp = tokens.claims()?.exp;
    if (typeof exp === 'number') return exp * 1000;
    const inS = tokens.expiresIn();
    return inS === undefined ? undefined : Date.now() + inS * 1000;
  };

  return {
    name: cfg.name,
    displayName: cfg.displayName ?? cfg.name,
    kind: 'redirect',

    async start(ctx) {
      const config = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: ctx.callbackUrl,
        scope: cfg.scopes.join(' '),
        response_type: 'code',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      return { url, transaction: { key: state, data: { state, nonce, verifier } } };
    },

    keyOf: (answer) => answer.state,

    async complete(answer, transaction, ctx) {
      // No login in progress with this state in this browser: a callback used twice, or
      // one this browser never started.
      if (!transaction) return refuse('The login was refused: its state is unknown or was already used.', ctx.attempt);
      const config = await configuration();
      const current = new URL(ctx.callbackUrl);
      for (const [k, v] of Object.entries(answer)) current.searchParams.set(k, v);
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: transaction.data.verifier!,
          expectedState: transaction.data.state!,
          expectedNonce: transaction.data.nonce!,
          idTokenExpected: true,
        });
      } catch (err) {
        return refuse(oidcRefusal(err), ctx.attempt);
      }
      let claims: Record<string, unknown> = { ...tokens.claims() };
      try {
        if (cfg.userinfo === 'always' || (cfg.userinfo === 'auto' && !claimsComplete(claims, cfg))) {
          if (config.serverMetadata().userinfo_endpoint) {
            const info = await oidc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
            // The ID token's claims win: they are signed.
            claims = { ...info, ...claims };
          }
        }
      } catch (err) {
        return refuse(oidcRefusal(err), ctx.attempt, String(claims.sub));
      }
      let identity;
      try {
        identity = identityFromClaims(claims, cfg);
      } catch (err) {
        if (err instanceof MappingError) return refuse(err.message, ctx.attempt, String(claims.sub ?? ''));
        throw err;
      }
      const outcome = await remote.complete(identity, ctx.attempt);
      if (!outcome.ok) return { outcome };
      return {
        outcome,
        session: {
          provider: cfg.name,
          idToken: tokens.id_token,
          refreshToken: cfg.refresh ? tokens.refresh_token : undefined,
          expiresAt: expiryOf(tokens),
          subject: identity.subject,
        },
      };
    },

    async logoutUrl(session, postLogoutUrl) {
      if (!cfg.logout) return undefined;
      const config = await configuration();
      if (!config.serverMetadata().end_session_endpoint) return undefined;
      return oidc.buildEndSessionUrl(config, {
        post_logout_redirect_uri: postLogoutUrl,
        ...(session.idToken ? { id_token_hint: session.idToken } : { client_id: cfg.clientId }),
      });
    },

    async refresh(session, attempt): Promise<RemoteSession | undefined> {
      if (!session.refreshToken) return undefined;
      try {
        const config = await configuration();
        const tokens = await oidc.refreshTokenGrant(config, session.refreshToken);
        const sub = tokens.claims()?.sub;
        if (sub !== undefined && session.subject !== undefined && sub !== session.subject) {
          await remote.refuse(cfg.name, 'The refreshed ID token names another person.', attempt, sub);
          return undefined;
        }
        return {
          ...session,
          idToken: tokens.id_token ?? session.idToken,
          // A provider that rotates refresh tokens sends a new one; else the old one stays good.
          refreshToken: tokens.refresh_token ?? session.refreshToken,
          expiresAt: expiryOf(tokens),
        };
      } catch (err) {
        await remote.refuse(cfg.name, `The session could not be renewed: ${oidcRefusal(err)}`, attempt, session.subject);
        return undefined;
      }
    },

    formOrigins: () => [new URL(cfg.issuer).origin],
  };
}
