#pragma once

#include <string_view>

namespace warden {

// Why a PASETO token was refused. Callers log to_string() and must not distinguish further
// towards the client, so the set stays coarse on purpose.
enum class TokenError {
  malformed,       // structure or base64 is invalid, or the body is too short
  wrong_version,   // not a v4 token
  wrong_purpose,   // e.g. a v4.public token given to local_decrypt
  bad_tag,         // MAC or signature does not verify (wrong key, tampered token)
  too_large,       // above kMaxTokenSize; refused before any decoding work
  wrong_key_type,  // the key resolved for the token cannot be used for its purpose
};

// Stable snake_case names ("bad_tag", ...) for logs and SQL error details.
std::string_view to_string(TokenError error);

}  // namespace warden
