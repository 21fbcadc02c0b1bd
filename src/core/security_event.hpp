#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace warden {

// A Security Event Token (RFC 8417) as a compact JWS signed with Ed25519: header
// {"alg": "EdDSA", "typ": "secevent+jwt", "kid": kid}, the payload exactly as given (a JSON
// object; the caller builds iss, aud, jti, iat, sub_id and events). Throws warden::Error
// (22023) when the payload is not a JSON object.
std::string mint_security_event(std::span<const uint8_t, 64> secret_key, const std::string& kid,
                                const std::string& payload_json);

}  // namespace warden
