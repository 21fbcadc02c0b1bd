#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace warden {

// What a minted per-call credential says: the agent (sub), the originating human, the chain,
// the tool, the upstream server as audience and the decision's event id as jti.
struct CredentialClaims {
  std::string agent;
  std::string human;
  std::string chain_id;
  std::string server;
  std::string tool;
  std::string event_id;
  int64_t issued_at = 0;
  int64_t expires_at = 0;  // at most 60 seconds after issued_at
  // The call was let through only because the agent is in observe mode: the credential says
  // so ("warden_mode": "observe"), so an upstream can refuse what was observed, not granted.
  bool observed = false;
  // The "iss": the gateway's public URL (warden.credential_issuer); empty means kCredentialIssuer.
  std::string issuer{};
};

inline constexpr int64_t kMaxCredentialSeconds = 60;
inline constexpr const char* kCredentialIssuer = "warden";

// A compact JWS over payload_json (a JSON object's text) signed with Ed25519 ("alg": "EdDSA"),
// with header {"alg", "typ", "kid"}; kid names the signing key.
std::string sign_jwt(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                     const std::string& typ, const std::string& payload_json);

// RFC 8693 section 4.1 nested "act" claims, as JSON text: actors run from the first agent of a
// chain to the current one; the outermost "act" names the current actor, each nested one the
// actor before it. Empty actors: "null".
std::string nested_act(const std::vector<std::string>& actors);

// A transaction token (draft-ietf-oauth-transaction-tokens) for one allowed call: typ
// "txntoken+jwt", txn = the decision's event id, sub = the human, tctx = the call (server, tool,
// base64url SHA-256 of its canonical arguments), req_wl = the gateway, act = the chain's agents.
struct TxnTokenClaims {
  CredentialClaims call;
  std::string arguments_sha256{};     // base64url, no padding
  std::vector<std::string> actors{};  // first agent of the chain .. the caller
};
std::string mint_txn_token(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                           const TxnTokenClaims& claims);

// base64url (no padding) of the SHA-256 of canonical_json(arguments), as tctx names them.
std::string sha256_base64url(const std::string& canonical_arguments);

// A compact JWS (JWT) signed with Ed25519 ("alg": "EdDSA"); kid names the signing key.
std::string mint_jwt(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                     const CredentialClaims& claims);

// A PASETO v4.public token with the same claims (times as RFC 3339) and {"kid": …} footer.
std::string mint_paseto(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                        const CredentialClaims& claims);

// Renders a vaulted secret through its template: every "{secret}" is replaced.
std::string render_secret_template(const std::string& tmpl, const std::string& secret);

}  // namespace warden
