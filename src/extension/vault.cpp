#include "extension/vault.hpp"

#include <sodium.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "core/key_wrap.hpp"
#include "core/vended_credential.hpp"
#include "extension/keys.hpp"
#include "extension/signing_keys.hpp"
#include "extension/spi.hpp"
#include "extension/sql_values.hpp"

extern "C" {
#include "mb/pg_wchar.h"
#include "utils/acl.h"
}

// The vault: upstream secrets arrive sealed (libsodium sealed box) to a key pair derived from
// the vault subkey, are kept encrypted under that subkey bound to their server and version,
// and leave the database only inside the decision for an allowed call, to warden_proxy.

namespace warden::pg {

int key_rotation_interval_seconds();
const char* credential_issuer();

namespace {

constexpr size_t kMaxSecretBytes = 64 * 1024;

void vault_box_keypair(uint8_t pk[crypto_box_PUBLICKEYBYTES],
                       uint8_t sk[crypto_box_SECRETKEYBYTES]) {
  const KeyRing& ring = require_key_ring();
  uint8_t seed[crypto_box_SEEDBYTES];
  static constexpr char kContext[] = "warden:vault-box:v1";
  crypto_generichash(seed, sizeof seed, reinterpret_cast<const unsigned char*>(kContext),
                     sizeof kContext - 1, ring.subkey(Subkey::kVaultWrap).data(), kKeyBytes);
  crypto_box_seed_keypair(pk, sk, seed);
  sodium_memzero(seed, sizeof seed);
}

std::string secret_binding(const std::string& server_id, int64_t version) {
  return "warden:secret:" + server_id + ":" + std::to_string(version);
}

std::string open_stored_secret(const std::string& server_id, int64_t version,
                               const std::vector<uint8_t>& wrapped) {
  const KeyRing& ring = require_key_ring();
  auto opened =
      unwrap_secret(ring.subkey(Subkey::kVaultWrap), wrapped, secret_binding(server_id, version));
  if (!opened) {
    throw Error(sqlstate::kConfigFileError, "the vaulted secret for this server cannot be opened",
                "It does not authenticate under the current root key or was moved to another row.",
                "Store it again with warden-mcp secret put.");
  }
  std::string secret(opened->begin(), opened->end());
  sodium_memzero(opened->data(), opened->size());
  return secret;
}

int64_t now_seconds() {
  return unix_seconds(GetCurrentTimestamp());
}

// A secret ends up in a header value or an environment variable: printable UTF-8 only.
bool usable_as_header_or_environment(const std::vector<uint8_t>& s) {
  if (s.empty()) return false;
  for (uint8_t c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return pg_call([&] {
    return pg_verify_mbstr(PG_UTF8, reinterpret_cast<const char*>(s.data()),
                           static_cast<int>(s.size()), true);
  });
}

// A secret sealed to warden.vault_public_key(), opened: printable UTF-8 of at most 64 KiB.
std::vector<uint8_t> open_sealed_box(const std::vector<uint8_t>& sealed) {
  if (sealed.size() <= crypto_box_SEALBYTES) {
    throw Error(sqlstate::kInvalidParameterValue, "the sealed secret is truncated or empty",
                std::to_string(sealed.size()) + " bytes is too short for a sealed box",
                "Seal the secret to warden.vault_public_key() (warden-mcp secret put does this).");
  }
  if (sealed.size() > kMaxSecretBytes + crypto_box_SEALBYTES) {
    throw Error(sqlstate::kInvalidParameterValue, "the secret is larger than 64 KiB");
  }
  uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  vault_box_keypair(pk, sk);
  std::vector<uint8_t> plain(sealed.size() - crypto_box_SEALBYTES);
  int rc = crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(), pk, sk);
  sodium_memzero(sk, sizeof sk);
  if (rc != 0) {
    throw Error(
        sqlstate::kInvalidParameterValue, "the sealed secret does not open with this vault's key",
        "It was sealed for another key, or altered.",
        "Seal it to warden.vault_public_key() of this database (warden-mcp secret put does this).");
  }
  if (!usable_as_header_or_environment(plain)) {
    sodium_memzero(plain.data(), plain.size());
    throw Error(sqlstate::kInvalidParameterValue,
                "the secret is not valid UTF-8 text or contains control characters",
                "It is injected into an HTTP header or an environment variable, where CR, LF, NUL "
                "and other control characters are not allowed.",
                "Base64-encode binary secrets before storing them.");
  }
  return plain;
}

// Secrets other than upstream ones (an identity provider's client secret, the code verifier of
// a sign-in in progress, an SSF receiver's push header, an export destination's token) are wrapped
// under the same subkey, bound to a purpose from this fixed set and to their row, so that none can
// be opened as another (nor as an upstream secret, whose binding starts "warden:secret:").
std::string row_binding(const std::string& purpose, const std::string& row_key) {
  if (purpose != "idp-secret" && purpose != "sign-in" && purpose != "ssf-push" &&
      purpose != "export-secret") {
    throw Error(sqlstate::kInvalidParameterValue, "unknown wrapping purpose \"" + purpose + "\"");
  }
  return "warden:" + purpose + ":" + row_key;
}

// Runs sign(key_id, secret key) with the current signing key. The key is read with a plain
// statement; only when there is none or it is due for rotation does warden._signing_key
// (plpgsql: locks, rotates) run. Most calls thus skip a PL/pgSQL call with its own search_path
// (measured: ~4 % of a credentialed call).
std::string with_current_signing_key(
    const std::function<std::string(const std::string&, std::span<const uint8_t, 64>)>& sign) {
  const Datum interval = Int32GetDatum(key_rotation_interval_seconds());
  static Statement current(
      "SELECT k.key_id, k.sealed FROM warden.keys k WHERE k.purpose = 'public' "
      "AND k.superseded_at IS NULL AND k.created_at > pg_catalog.now() - pg_catalog.make_interval("
      "secs => $1)",
      {INT4OID});
  static Statement signing_key("SELECT key_id, sealed FROM warden._signing_key($1)", {INT4OID});
  Statement* found = &current;
  if (current.run({interval}, {}, true, 2) != 1) {
    signing_key.run({interval});
    found = &signing_key;
  }
  const std::string key_id = *found->text(0, "key_id");
  const std::vector<uint8_t> sealed = *found->bytes(0, "sealed");
  return sign_with_signing_key(key_id, sealed, [&](std::span<const uint8_t, 64> secret_key) {
    return sign(key_id, secret_key);
  });
}

}  // namespace

bool caller_is_proxy() {
  Oid proxy = pg_call([] { return get_role_oid("warden_proxy", true); });
  if (proxy == InvalidOid) return false;
  return pg_call([&] { return has_privs_of_role(GetOuterUserId(), proxy); });
}

std::optional<std::string> vend_credential(const VendRequest& r) {
  nlohmann::json descriptor = nlohmann::json::parse(r.credential_descriptor, nullptr, false);
  const std::string kind = descriptor.is_object() ? descriptor.value("kind", "none") : "none";
  if (kind == "secret") {
    if (r.observed) {
      // Observe mode records what would have been denied; it must not hand out the keys.
      return nlohmann::json(
                 {{"kind", "secret"},
                  {"error", "a call allowed only in observe mode gets no vaulted secret"}})
          .dump();
    }
    static Statement latest(
        "SELECT version, header, template, wrapped FROM warden.secrets WHERE server_id = $1 "
        "ORDER BY version DESC LIMIT 1",
        {UUIDOID});
    if (latest.run({uuid_datum(r.server_id)}, {}, true, 1) != 1) {
      return nlohmann::json({{"kind", "secret"}, {"error", "no secret stored for this server"}})
          .dump();
    }
    int64_t version = *latest.integer(0, "version");
    std::string header = *latest.text(0, "header");
    std::string tmpl = *latest.text(0, "template");
    std::string secret;
    try {
      secret = open_stored_secret(r.server_id, version, *latest.bytes(0, "wrapped"));
    } catch (const Error& e) {
      // Deny (and audit) rather than abort the decision: the call cannot be credentialed.
      return nlohmann::json({{"kind", "secret"}, {"error", e.what()}}).dump();
    }
    nlohmann::json cred = {
        {"kind", "secret"}, {"version", version}, {"value", render_secret_template(tmpl, secret)}};
    sodium_memzero(secret.data(), secret.size());
    if (descriptor.contains("env")) {
      cred["env"] = descriptor["env"];
    } else {
      cred["header"] = header;
    }
    return cred.dump();
  }
  if (kind != "jwt" && kind != "paseto" && kind != "txn_token") return std::nullopt;
  if (kind == "txn_token" && r.arguments_sha256.empty()) {
    return nlohmann::json({{"kind", kind},
                           {"error",
                            "a transaction token is minted only with its decision (authorize's "
                            "context {\"credential\": \"with_decision\"}), which knows the "
                            "call's arguments"}})
        .dump();
  }

  int64_t ttl = descriptor.is_object() ? descriptor.value("ttl_seconds", int64_t{30}) : 30;
  ttl = std::clamp<int64_t>(ttl, 1, kMaxCredentialSeconds);
  const char* issuer = credential_issuer();
  CredentialClaims claims{
      r.agent,    r.human,       r.chain_id, r.server,   r.tool,
      r.event_id, now_seconds(), 0,          r.observed, issuer != nullptr ? issuer : ""};
  claims.expires_at = claims.issued_at + ttl;
  std::string key_id;
  std::string token = with_current_signing_key([&](const std::string& kid,
                                                   std::span<const uint8_t, 64> secret_key) {
    key_id = kid;
    if (kind == "txn_token") {
      return mint_txn_token(secret_key, kid, TxnTokenClaims{claims, r.arguments_sha256, r.actors});
    }
    return kind == "jwt" ? mint_jwt(secret_key, kid, claims) : mint_paseto(secret_key, kid, claims);
  });
  const bool txn = kind == "txn_token";
  return nlohmann::json({{"kind", kind},
                         {"header", txn ? "Txn-Token" : "Authorization"},
                         {"value", txn ? token : "Bearer " + token},
                         {"key_id", key_id},
                         {"expires_at", claims.expires_at}})
      .dump();
}

std::string sign_with_current_key(const std::string& typ, const std::string& claims_json) {
  return with_current_signing_key(
      [&](const std::string& kid, std::span<const uint8_t, 64> secret_key) {
        return sign_jwt(secret_key, kid, typ, claims_json);
      });
}

}  // namespace warden::pg

using namespace warden;
using namespace warden::pg;

WARDEN_SQL_FUNCTION(warden_vault_public_key) {
  uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  vault_box_keypair(pk, sk);
  sodium_memzero(sk, sizeof sk);
  return bytea_datum(std::vector<uint8_t>(pk, pk + sizeof pk));
}

// (server_id, version, sealed box) -> the secret re-encrypted for storage. The plaintext exists
// only inside this call.
WARDEN_SQL_FUNCTION(warden_vault_wrap_sealed) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
    throw Error(sqlstate::kNullValueNotAllowed,
                "server, version and sealed secret must not be NULL");
  }
  const std::string server_id = *arg_uuid(fcinfo, 0);
  const int64_t version = PG_GETARG_INT32(1);
  std::vector<uint8_t> sealed = *arg_bytea(fcinfo, 2);
  std::vector<uint8_t> plain = open_sealed_box(sealed);
  const KeyRing& ring = require_key_ring();
  std::vector<uint8_t> wrapped =
      wrap_secret(ring.subkey(Subkey::kVaultWrap), plain, secret_binding(server_id, version));
  sodium_memzero(plain.data(), plain.size());
  return bytea_datum(wrapped);
}

// (purpose, row key, sealed box) -> the secret re-encrypted for storage in that row; like
// warden_vault_wrap_sealed, the plaintext exists only inside this call.
WARDEN_SQL_FUNCTION(warden_vault_wrap_sealed_for) {
  const std::string binding =
      row_binding(required_text(fcinfo, 0, "purpose"), required_text(fcinfo, 1, "row_key"));
  if (PG_ARGISNULL(2)) throw Error(sqlstate::kNullValueNotAllowed, "sealed must not be NULL");
  std::vector<uint8_t> plain = open_sealed_box(*arg_bytea(fcinfo, 2));
  std::vector<uint8_t> wrapped =
      wrap_secret(require_key_ring().subkey(Subkey::kVaultWrap), plain, binding);
  sodium_memzero(plain.data(), plain.size());
  return bytea_datum(wrapped);
}

// (purpose, row key, text) -> the text encrypted for storage in that row.
WARDEN_SQL_FUNCTION(warden_vault_wrap_text) {
  const std::string binding =
      row_binding(required_text(fcinfo, 0, "purpose"), required_text(fcinfo, 1, "row_key"));
  std::string plain = required_text(fcinfo, 2, "plaintext");
  std::vector<uint8_t> bytes(plain.begin(), plain.end());
  sodium_memzero(plain.data(), plain.size());
  std::vector<uint8_t> wrapped =
      wrap_secret(require_key_ring().subkey(Subkey::kVaultWrap), bytes, binding);
  sodium_memzero(bytes.data(), bytes.size());
  return bytea_datum(wrapped);
}

// (purpose, row key, wrapped) -> the text stored by one of the two functions above.
WARDEN_SQL_FUNCTION(warden_vault_open_text) {
  const std::string binding =
      row_binding(required_text(fcinfo, 0, "purpose"), required_text(fcinfo, 1, "row_key"));
  if (PG_ARGISNULL(2)) throw Error(sqlstate::kNullValueNotAllowed, "wrapped must not be NULL");
  auto opened =
      unwrap_secret(require_key_ring().subkey(Subkey::kVaultWrap), *arg_bytea(fcinfo, 2), binding);
  if (!opened) {
    throw Error(sqlstate::kConfigFileError, "a wrapped secret cannot be opened",
                "It does not authenticate under the current root key or was moved to another row.",
                "Store it again (warden.put_idp_secret for an identity provider's secret).");
  }
  Datum result = text_datum(std::string(opened->begin(), opened->end()));
  sodium_memzero(opened->data(), opened->size());
  return result;
}

// (typ, claims as JSON text) -> a JWT signed with the current signing key. Internal: only
// warden's own SECURITY DEFINER functions call it (exchange_token, for an RFC 8693 JWT access
// token), and only for the typs listed here.
WARDEN_SQL_FUNCTION(warden_sign_jwt) {
  const std::string typ = required_text(fcinfo, 0, "typ");
  if (typ != "at+jwt") {
    throw Error(sqlstate::kInvalidParameterValue,
                "warden._sign_jwt does not sign typ \"" + typ + "\"");
  }
  const std::string claims_text = required_text(fcinfo, 1, "claims");
  nlohmann::json claims = nlohmann::json::parse(claims_text, nullptr, false);
  if (!claims.is_object()) {
    throw Error(sqlstate::kInvalidParameterValue, "the claims must be a JSON object");
  }
  spi_connect();
  std::string token = sign_with_current_key(typ, claims.dump());
  spi_finish();
  return text_datum(token);
}
