// Verifies one credential vended by warden with an independent implementation: `jose` for
// EdDSA JWTs, `paseto` (panva) for v4.public tokens, against warden.public_keys().
// Reads one JSON object from stdin:
//   {"keys": <warden.public_keys()>, "kind": "jwt" | "paseto", "token": "...",
//    "audience": "<server>", "at": <unix seconds to verify at, optional>}
// Prints one JSON object: {"ok": true, "kid": ..., "claims": {...}} or
// {"ok": false, "code": ..., "message": ...}. Also checks that the kid is the PASERK k4.pid of
// the key that verified (BLAKE2b-264 over "k4.pid." || "k4.public." || base64url(key)).
import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import * as jose from 'jose';
import paseto from 'paseto';
import { createRequire } from 'node:module';
// libsodium-wrappers' ES module build is broken in some 0.7.x releases; its CommonJS build is not.
const sodium = createRequire(import.meta.url)('libsodium-wrappers');

const { V4 } = paseto;
const input = JSON.parse(readFileSync(0, 'utf8'));
const keys = input.keys ?? {};
const at = input.at === undefined || input.at === null ? new Date() : new Date(input.at * 1000);

function b64urlDecode(s) { return Buffer.from(s, 'base64url'); }

async function pidOf(paserkPublic) {
  await sodium.ready;
  const h = 'k4.pid.';
  const digest = sodium.crypto_generichash(33, Buffer.from(h + paserkPublic, 'utf8'));
  return h + Buffer.from(digest).toString('base64url');
}

async function main() {
  if (input.kind === 'jwt') {
    const jwks = jose.createLocalJWKSet({ keys: keys.keys ?? [] });
    const header = jose.decodeProtectedHeader(input.token);
    const { payload, protectedHeader } = await jose.jwtVerify(input.token, jwks, {
      audience: input.audience,
      issuer: 'warden',
      algorithms: ['EdDSA'],
      currentDate: at,
    });
    const jwk = (keys.keys ?? []).find((k) => k.kid === protectedHeader.kid);
    const paserk = 'k4.public.' + jwk.x;
    return { ok: true, kid: protectedHeader.kid, typ: header.typ, alg: header.alg,
             kid_is_pid: (await pidOf(paserk)) === protectedHeader.kid, claims: payload };
  }
  if (input.kind === 'paseto') {
    const parts = input.token.split('.');
    if (parts.length !== 4 || parts[0] !== 'v4' || parts[1] !== 'public') {
      return { ok: false, code: 'NOT_V4_PUBLIC', message: 'not a v4.public token with a footer' };
    }
    const footer = JSON.parse(b64urlDecode(parts[3]).toString('utf8'));
    const entry = (keys.paserk ?? []).find((k) => k.kid === footer.kid);
    if (!entry) return { ok: false, code: 'NO_MATCHING_KEY', message: `no PASERK for kid ${footer.kid}` };
    if (!entry.key.startsWith('k4.public.')) return { ok: false, code: 'BAD_PASERK', message: entry.key };
    const x = entry.key.slice('k4.public.'.length);
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    const claims = await V4.verify(input.token, key, {
      audience: input.audience,
      issuer: 'warden',
      now: at,
    });
    return { ok: true, kid: footer.kid, kid_is_pid: (await pidOf(entry.key)) === footer.kid, claims };
  }
  return { ok: false, code: 'USAGE', message: `unknown kind ${input.kind}` };
}

try {
  process.stdout.write(JSON.stringify(await main()) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify({ ok: false, code: e.code ?? e.name, message: String(e.message) }) + '\n');
}
