// Seals a secret to a libsodium box public key given as hex, the way `warden-mcp secret put`
// does (crypto_box_seal), and prints the sealed box as hex.
//   printf '%s' "$secret" | node seal.mjs <vault public key hex>
//     seals standard input (raw bytes); the plaintext travels only through stdin.
//   node seal.mjs --random <vault public key hex>
//     seals a fresh random secret ("tap-secret-<hex>") and prints "<sealed hex> <sha256 hex of
//     the secret>", so a test can recognise the secret without ever holding it in SQL text.
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
// libsodium-wrappers' ES module build is broken in some 0.7.x releases; its CommonJS build is not.
const sodium = createRequire(import.meta.url)('libsodium-wrappers');

await sodium.ready;
const random = process.argv[2] === '--random';
const pkHex = process.argv[random ? 3 : 2] ?? '';
if (!/^[0-9a-f]{64}$/i.test(pkHex)) {
  console.error('usage: node seal.mjs [--random] <32-byte public key as hex> [< plaintext]');
  process.exit(2);
}
const plain = random ? Buffer.from('tap-secret-' + randomBytes(16).toString('hex'), 'utf8') : readFileSync(0);
const sealed = sodium.to_hex(sodium.crypto_box_seal(new Uint8Array(plain), sodium.from_hex(pkHex)));
process.stdout.write(random ? `${sealed} ${createHash('sha256').update(plain).digest('hex')}\n` : sealed + '\n');
