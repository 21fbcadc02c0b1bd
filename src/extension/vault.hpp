#pragma once

#include <optional>
#include <string>
#include <vector>

namespace warden::pg {

// What warden.credential knows when it vends a credential for a committed, allowed call.
struct VendRequest {
  std::string server_id;
  std::string server;
  std::string tool;
  std::string credential_descriptor;  // warden.servers.credential as JSON text
  std::string agent, human, chain_id, event_id;
  // Allowed only by observe mode: never a vaulted secret; a minted credential says so.
  bool observed = false;
  // For a transaction token: base64url SHA-256 of the call's canonical arguments (empty when
  // unknown: then none is minted) and the chain's agents, first to caller.
  std::string arguments_sha256{};
  std::vector<std::string> actors{};
};

// The credential for one allowed call as JSON text, or nullopt when the server takes none:
//   secret: {"kind":"secret","header":"Authorization","value":"Bearer …"} (or "env" for stdio)
//   jwt / paseto: {"kind":"jwt","header":"Authorization","value":"Bearer <token>","expires_at":…}
//   txn_token: {"kind":"txn_token","header":"Txn-Token","value":"<token>","expires_at":…}
// Needs an open SPI connection. Rotates the signing keys first if they are due.
std::optional<std::string> vend_credential(const VendRequest& request);

// A JWT of typ `typ` over these claims (a JSON object's text), signed with the current signing
// key (published in warden.public_keys()). Needs an open SPI connection.
std::string sign_with_current_key(const std::string& typ, const std::string& claims_json);

// True when the role running the session (not the SECURITY DEFINER owner) holds warden_proxy.
bool caller_is_proxy();

}  // namespace warden::pg
