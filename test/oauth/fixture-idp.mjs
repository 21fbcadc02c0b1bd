// A real, certified OpenID provider (npm oidc-provider 9.x) for warden's OAuth tests, on a free
// loopback port. One configured user signs in at the provider's own login page (a plain HTML
// form served from /interaction/:uid); consent is granted by the provider for its first-party
// client. Keys rotate on demand; call startIdp again for a second provider.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import * as jose from 'jose';

async function signingKey(alg) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${crypto.randomUUID()}` };
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 16384) req.destroy(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

function loginPage(uid, clientId, error) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Fixture IdP sign-in</title></head>
<body><h1>Sign in to the fixture IdP</h1><p>for client <b>${escapeHtml(clientId)}</b></p>
${error ? `<p id="error" style="color:#b00">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label>Login <input id="login" name="login" required></label>
<label>Password <input id="password" name="password" type="password" required></label>
<button id="submit" type="submit">Sign in</button></form></body></html>`;
}

// Options:
//   user: { accountId, email, groups, name, password }   the one person who can sign in
//   client: { clientId, redirectUris, clientSecret, tokenEndpointAuthMethod }
//                                                        warden as a relying party (PKCE, code);
//                                                        with a secret: client_secret_basic
//                                                        unless the method says otherwise
//   clientAuthMethods: the token endpoint auth methods the provider supports (its default)
//   algs: signing algorithms, each gets a key (default ['RS256'])
// Returns { issuer, port, clientId, jwks(), rotateKeys({ keepOld }), requests, close() }.
export async function startIdp(options = {}) {
  const user = {
    accountId: 'alice',
    email: 'alice@example.com',
    name: 'Alice Example',
    groups: ['engineering'],
    password: 'correct horse',
    ...options.user,
  };
  const client = { clientId: 'warden', redirectUris: [], ...options.client };
  const algs = options.algs ?? ['RS256'];
  let keys = await Promise.all(algs.map(signingKey));
  const requests = [];

  let provider;
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url.split('?')[0]}`);
    if (req.url.startsWith('/interaction/')) {
      interaction(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  const issuer = `http://127.0.0.1:${port}`;

  function configuration() {
    return {
      clients: [{
        client_id: client.clientId,
        ...(client.clientSecret
          ? {
            client_secret: client.clientSecret,
            token_endpoint_auth_method: client.tokenEndpointAuthMethod ?? 'client_secret_basic',
          }
          : { token_endpoint_auth_method: 'none' }),
        redirect_uris: client.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: algs[0],
      }],
      jwks: { keys },
      // What discovery advertises (token_endpoint_auth_methods_supported) and accepts.
      ...(options.clientAuthMethods ? { clientAuthMethods: options.clientAuthMethods } : {}),
      pkce: { required: () => true },
      // warden reads the person from the ID token, not from userinfo.
      conformIdTokenClaims: false,
      claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['name'],
        groups: ['groups'],
      },
      scopes: ['openid', 'email', 'profile', 'groups'],
      findAccount: async (ctx, id) => (id === user.accountId ? {
        accountId: id,
        claims: async () => ({
          sub: id, email: user.email, email_verified: true, name: user.name, groups: user.groups,
        }),
      } : undefined),
      interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
      cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
      features: { devInteractions: { enabled: false } },
      ttl: {
        AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600,
        Grant: 3600,
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><h1>IdP error</h1><pre id="error">${escapeHtml(JSON.stringify(out))}</pre>`;
      },
    };
  }

  function build() {
    provider = new Provider(issuer, configuration());
  }
  build();

  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { uid, prompt, params } = details;
    if (req.method === 'GET' && prompt.name === 'login') {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(loginPage(uid, params.client_id));
      return;
    }
    if (req.method === 'POST' && req.url.endsWith('/login')) {
      const form = await readForm(req);
      if (form.get('login') !== user.accountId || form.get('password') !== user.password) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(loginPage(uid, params.client_id, 'Wrong login or password.'));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.accountId } },
        { mergeWithLastSubmission: false });
      return;
    }
    if (prompt.name === 'consent') {
      // The fixture's client is first-party: consent to what it asked for.
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      const missing = prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } },
        { mergeWithLastSubmission: true });
      return;
    }
    res.statusCode = 400;
    res.end(`unexpected interaction ${prompt.name}`);
  }

  return {
    issuer,
    port,
    clientId: client.clientId,
    user,
    requests,
    provider: () => provider,
    // The public JWKS as the provider serves it.
    async jwks() {
      const r = await fetch(`${issuer}/jwks`);
      return r.json();
    },
    // New signing keys (one per alg) sign from now on; with keepOld the old ones stay in the
    // JWKS for tokens already issued. Sessions and codes in flight do not survive.
    async rotateKeys({ keepOld = true } = {}) {
      const fresh = await Promise.all(algs.map(signingKey));
      keys = keepOld ? [...fresh, ...keys] : fresh;
      build();
      return fresh.map((k) => k.kid);
    },
    // Signs arbitrary claims with the provider's current key (first of `alg`), for attack
    // tests that need an ID token the IdP would never issue (wrong iss/aud/nonce, expired).
    async signToken(claims, { alg = algs[0], header = {} } = {}) {
      const jwk = keys.find((k) => k.alg === alg);
      const key = await jose.importJWK(jwk, alg);
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg, kid: jwk.kid, typ: 'JWT', ...header })
        .sign(key);
    },
    // "HS256 signed with the public key": an HMAC over the claims keyed with the PEM (or, with
    // secret: 'n', the modulus) of the provider's public RSA key, carrying that key's kid.
    async forgeHs256WithPublicKey(claims, { secret = 'pem' } = {}) {
      const jwk = keys.find((k) => k.kty === 'RSA');
      const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
      const material = secret === 'n'
        ? Buffer.from(publicJwk.n, 'base64url')
        : Buffer.from(crypto.createPublicKey({ key: publicJwk, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' }));
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'JWT' })
        .sign(new Uint8Array(material));
    },
    // Lets a test change the redirect URIs (e.g. once the catcher or warden has a port).
    setRedirectUris(uris) {
      client.redirectUris = uris;
      build();
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
