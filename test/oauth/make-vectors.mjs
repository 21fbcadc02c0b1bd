// Writes test/vectors/oauth/jose.json: ID tokens and DPoP proofs made by an independent JOSE
// implementation (npm jose) for every algorithm warden verifies, with the JWKS, the expected
// RFC 7638 thumbprints and the fixed time they are valid at. The C++ unit tests
// (oauth_interop_test.cpp) must accept each one. Run: node make-vectors.mjs
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../vectors/oauth/jose.json');
const now = 1800000000;
const issuer = 'https://idp.example';
const clientId = 'warden';
const nonce = 'n-0S6_WzA2Mj';

const vectors = { now, issuer, client_id: clientId, nonce, jwks: { keys: [] }, id_tokens: [],
  dpop: { method: 'POST', url: 'https://gw.example/mcp', access_token: 'v4.local.example-token',
    proofs: [] } };

for (const alg of ['RS256', 'PS256', 'ES256', 'EdDSA']) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  const kid = `${alg.toLowerCase()}-1`;
  vectors.jwks.keys.push({ ...jwk, kid, alg, use: 'sig' });
  const idToken = await new jose.SignJWT({ nonce, email: 'alice@example.com', groups: ['eng'] })
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(issuer).setAudience(clientId).setSubject('alice')
    .setIssuedAt(now - 5).setExpirationTime(now + 600)
    .sign(privateKey);
  vectors.id_tokens.push({ alg, id_token: idToken });

  const ath = crypto.createHash('sha256').update(vectors.dpop.access_token).digest('base64url');
  const proof = await new jose.SignJWT({ htm: 'POST', htu: vectors.dpop.url, ath,
    jti: crypto.randomUUID() })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk })
    .setIssuedAt(now)
    .sign(privateKey);
  vectors.dpop.proofs.push({ alg, proof, jkt: await jose.calculateJwkThumbprint(jwk, 'sha256') });
}

fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${out}`);
