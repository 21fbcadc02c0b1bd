// A test-controlled, malicious or broken OpenID provider: discovery, a JWKS and a token endpoint
// whose answers the test chooses, for what the certified provider (fixture-idp.mjs) would never
// send — ID tokens that are expired, unsigned (alg none), HMAC-signed with the provider's public
// key, for another issuer, audience or nonce, with a kid the JWKS does not list — and token
// endpoints that fail (an OAuth error, HTTP 500, garbage, no answer at all).
//
// The authorization endpoint answers at once (no login page): it remembers the nonce and
// client_id warden sent and redirects back with a code. The token endpoint then calls
// `behaviour.token(sent, helpers)` where `sent` is { nonce, clientId, form, authorization } and
// helpers offer sign()/claims(); it returns { status, body } or 'hang'.
import http from 'node:http';
import crypto from 'node:crypto';
import * as jose from 'jose';

async function rsaKey() {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const kid = `evil-${crypto.randomUUID()}`;
  const publicJwk = { ...(await jose.exportJWK(publicKey)), alg: 'RS256', use: 'sig', kid };
  return { privateKey, publicJwk, kid };
}

export async function startEvilIdp() {
  const published = await rsaKey();   // in the JWKS
  const unlisted = await rsaKey();    // never in the JWKS
  const pending = new Map();
  const requests = [];
  const hanging = new Set();
  const idp = { behaviour: undefined };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}`);
    const json = (status, body) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer: idp.issuer, authorization_endpoint: `${idp.issuer}/auth`,
        token_endpoint: `${idp.issuer}/token`, jwks_uri: `${idp.issuer}/jwks`,
        response_types_supported: ['code'], subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (url.pathname === '/jwks') {
      json(200, { keys: [published.publicJwk] });
    } else if (url.pathname === '/auth') {
      const code = crypto.randomUUID();
      pending.set(code, { nonce: url.searchParams.get('nonce'), clientId: url.searchParams.get('client_id') });
      const back = new URL(url.searchParams.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state'));
      res.statusCode = 302;
      res.setHeader('location', back.href);
      res.end();
    } else if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const sent = { ...pending.get(form.get('code')), form, authorization: req.headers.authorization };
      pending.delete(form.get('code'));
      const answer = await idp.behaviour.token(sent, helpers);
      if (answer === 'hang') {
        hanging.add(res);
        return;
      }
      if (typeof answer.body === 'string') {
        res.statusCode = answer.status;
        res.setHeader('content-type', answer.contentType ?? 'text/plain');
        res.end(answer.body);
      } else {
        json(answer.status, answer.body);
      }
    } else {
      res.statusCode = 404;
      res.end();
    }
  });

  const helpers = {
    // Claims a good ID token for this sign-in would carry, with `extra` on top.
    claims(sent, extra = {}) {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: idp.issuer, aud: sent.clientId, sub: 'mallory', email: 'mallory@example.com', email_verified: true,
        nonce: sent.nonce, iat: now, exp: now + 300, ...extra,
      };
    },
    // Signed with the published key (key: 'unlisted' for one the JWKS does not list).
    async sign(claims, { key = 'published', header = {} } = {}) {
      const k = key === 'unlisted' ? unlisted : published;
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT', ...header })
        .sign(k.privateKey);
    },
    // alg none: header and claims, an empty signature.
    unsigned(claims) {
      const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${part({ alg: 'none', typ: 'JWT', kid: published.kid })}.${part(claims)}.`;
    },
    // HS256 keyed with the public key's PEM (the classic RS/HS confusion), carrying its kid.
    async hs256WithPublicKey(claims) {
      const pem = crypto.createPublicKey({ key: published.publicJwk, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' });
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: published.kid, typ: 'JWT' })
        .sign(new Uint8Array(Buffer.from(pem)));
    },
    // A token response around an ID token.
    tokens(idToken) {
      return { status: 200, body: { access_token: 'at', token_type: 'Bearer', expires_in: 60, id_token: idToken } };
    },
  };

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  idp.issuer = `http://127.0.0.1:${server.address().port}`;
  idp.requests = requests;
  idp.jwksFetches = () => requests.filter((r) => r === 'GET /jwks').length;
  idp.close = () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections?.();
    return new Promise((resolve) => server.close(resolve));
  };
  return idp;
}

// A fresh database, the evil IdP, a redirect catcher and warden-mcp signing people in with the
// evil IdP only (client 'evil-client' of agent 'evil-bot'). Returns { catcher, evil, gateway,
// issuer, attempt(token), close() }; attempt runs one sign-in with the IdP's token endpoint
// answering `token(sent, helpers)` and returns the /callback result with its request.
export async function startEvilSetup() {
  const { freshDatabase, sql, quote, startGateway, stop } = await import('../e2e/harness.mjs');
  const { startRedirectCatcher } = await import('./redirect-catcher.mjs');
  const { freePort, authorizeRequest, signInWithoutBrowser } = await import('./common.mjs');
  freshDatabase();
  const catcher = await startRedirectCatcher();
  const evil = await startEvilIdp();
  sql(`SELECT warden.add_human('owner@example.com', 'Owner');
       SELECT warden.add_agent('evil-bot', 'owner@example.com');
       SELECT warden.add_identity_provider('evil', ${quote(evil.issuer)}, 'warden', NULL,
                '{"jit": true, "subject_claim": "email", "email_claim": "email"}');
       SELECT warden.register_client('evil-bot', 'evil-client', ARRAY[${quote(catcher.redirectUri)}]);`);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const gateway = await startGateway(['--listen', `127.0.0.1:${port}`, '--issuer', issuer, '--idp', 'evil',
    '--oauth-allow-http-loopback']);
  return {
    catcher, evil, gateway, issuer,
    async attempt(token) {
      evil.behaviour = { token };
      const request = authorizeRequest(issuer, 'evil-client', catcher.redirectUri);
      const result = await signInWithoutBrowser(request);
      return { ...result, request };
    },
    async close() {
      stop(gateway.child);
      await evil.close();
      await catcher.close();
    },
  };
}
