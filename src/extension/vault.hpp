#pragma once

#include <optional>
#include <string>

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
};

// The credential for one allowed call as JSON text, or nullopt when the server takes none:
//   secret: {"kind":"secret","header":"Authorization","value":"Bearer …"} (or "env" for stdio)
//   jwt / paseto: {"kind":"jwt","header":"Authorization","value":"Bearer <token>","expires_at":…}
// Needs an open SPI connection. Rotates the signing keys first if they are due.
std::optional<std::string> vend_credential(const VendRequest& request);

// True when the role running the session (not the SECURITY DEFINER owner) holds warden_proxy.
bool caller_is_proxy();

}  // namespace warden::pg
