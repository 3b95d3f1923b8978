import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SAML, ValidateInResponseTo, type CacheProvider, type SamlConfig } from '@node-saml/node-saml';
import type { SamlProviderConfig } from '../config/schema.ts';
import type { LoginAttempt, RedirectCompletion, RedirectContext, RedirectLoginProvider } from './provider.ts';
import type { RemoteLogins } from './remote-identity.ts';
import { identityFromAssertion, MappingError, type SamlProfileLike } from './sso-mapping.ts';

/** node-saml's refusals, in words for the login page and the audit log. */
function samlRefusal(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  if (/signature/i.test(m)) {
    return 'The SAML response was refused: its assertion is not signed by the identity provider (a signed assertion is required).';
  }
  if (/expired/i.test(m)) return 'The SAML response was refused: the assertion has expired.';
  // node-saml's words when every subject confirmation is outside its time (NotOnOrAfter).
  if (/No valid subject confirmation/i.test(m)) return 'The SAML response was refused: the assertion has expired or is not valid yet.';
  if (/not yet valid/i.test(m)) return 'The SAML response was refused: the assertion is not valid yet.';
  if (/InResponseTo/i.test(m)) return 'The SAML response was refused: it answers no login this browser started (InResponseTo).';
  if (/audience/i.test(m)) return 'The SAML response was refused: it was made for another service provider (audience).';
  if (/issuer/i.test(m)) return 'The SAML response was refused: it comes from another identity provider (issuer).';
  return `The SAML response was refused: ${m}`;
}

/**
 * The request ids node-saml may accept InResponseTo for: exactly the one this browser's
 * transaction holds (so a response to another browser's request, or a replay after the
 * transaction was used, is refused). Nothing is shared between logins.
 */
function oneRequest(requestId: string | undefined): CacheProvider {
  const instant = new Date().toISOString();
  return {
    saveAsync: async (_key, value) => ({ value, createdAt: Date.now() }),
    getAsync: async (key) => (requestId !== undefined && key === requestId ? instant : null),
    removeAsync: async (key) => key,
  };
}

/**
 * A SAML 2.0 service provider with @node-saml/node-saml: AuthnRequest by the HTTP-Redirect
 * binding, the response by HTTP-POST at the callback (ACS). Assertions must be signed by the
 * configured IdP certificate (and the whole response too with `wantResponseSigned`); the
 * audience must be Lectern's entity id; timestamps are checked with `acceptedClockSkewMs`;
 * InResponseTo must be the request id this browser's transaction keeps.
 */
export function samlLogin(cfg: SamlProviderConfig, remote: RemoteLogins): RedirectLoginProvider {
  // Read at start, so a missing file stops Lectern with the reason rather than every login.
  const idpCert = cfg.idpCertFile.map((f) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (err) {
      throw new Error(`auth.saml "${cfg.name}": idpCertFile ${f} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
  });

  const options = (ctx: RedirectContext): SamlConfig => ({
    entryPoint: cfg.entryPoint,
    issuer: cfg.spEntityId ?? ctx.metadataUrl,
    callbackUrl: ctx.callbackUrl,
    idpCert,
    ...(cfg.idpIssuer ? { idpIssuer: cfg.idpIssuer } : {}),
    audience: cfg.spEntityId ?? ctx.metadataUrl,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: cfg.wantResponseSigned,
    acceptedClockSkewMs: cfg.acceptedClockSkewMs,
    identifierFormat: cfg.identifierFormat,
    validateInResponseTo: ValidateInResponseTo.always,
    disableRequestedAuthnContext: true,
  });

  const refuse = async (reason: string, attempt: LoginAttempt, claimed?: string): Promise<RedirectCompletion> => ({
    outcome: await remote.refuse(cfg.name, reason, attempt, claimed),
  });

  return {
    name: cfg.name,
    displayName: cfg.displayName ?? cfg.name,
    kind: 'redirect',

    async start(ctx) {
      // node-saml names the request with generateUniqueId; one instance per login lets the
      // id be known here, to keep in the transaction.
      const requestId = `_${randomBytes(20).toString('hex')}`;
      const relayState = randomBytes(24).toString('base64url');
      const saml = new SAML({ ...options(ctx), generateUniqueId: () => requestId, cacheProvider: oneRequest(undefined) });
      const url = new URL(await saml.getAuthorizeUrlAsync(relayState, undefined, {}));
      return { url, transaction: { key: relayState, data: { requestId } } };
    },

    keyOf: (answer) => answer.RelayState,

    async complete(answer, transaction, ctx) {
      if (!transaction)
        return refuse('The SAML response was refused: it answers no login this browser has in progress (used already, or never started here).', ctx.attempt);
      if (typeof answer.SAMLResponse !== 'string' || answer.SAMLResponse === '') {
        return refuse('The identity provider sent no SAML response.', ctx.attempt);
      }
      const saml = new SAML({ ...options(ctx), cacheProvider: oneRequest(transaction.data.requestId) });
      let profile: SamlProfileLike | null;
      try {
        ({ profile } = await saml.validatePostResponseAsync({ SAMLResponse: answer.SAMLResponse }));
      } catch (err) {
        return refuse(samlRefusal(err), ctx.attempt);
      }
      if (!profile) return refuse('The SAML response holds no assertion.', ctx.attempt);
      let identity;
      try {
        identity = identityFromAssertion(profile, cfg);
      } catch (err) {
        if (err instanceof MappingError) return refuse(err.message, ctx.attempt, profile.nameID);
        throw err;
      }
      const outcome = await remote.complete(identity, ctx.attempt);
      return outcome.ok ? { outcome, session: { provider: cfg.name, subject: identity.subject } } : { outcome };
    },

    async metadata(ctx) {
      return new SAML({ ...options(ctx), cacheProvider: oneRequest(undefined) }).generateServiceProviderMetadata(null, null);
    },
  };
}
