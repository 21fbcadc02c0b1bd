#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

// Token times are RFC 3339 (format_rfc3339, parse_rfc3339); users of this header get them too.
#include "core/rfc3339.hpp"

namespace warden {

// The claims of a task token: who holds it, in which chain, below which parent, and when it
// is valid. Times are Unix seconds; on the wire they are RFC 3339 UTC strings as PASETO's
// registered claims require.
struct TaskClaims {
  std::string token_id;   // uuid
  std::string chain_id;   // uuid
  std::string agent_id;   // uuid
  std::string parent_id;  // uuid, empty for a chain's root token
  int64_t issued_at = 0;
  int64_t not_before = 0;
  int64_t expires_at = 0;
};

// Why a token string was refused before any database state was consulted. Stable names.
enum class TokenRefusal { malformed, unknown_key, bad_tag, expired, not_yet_valid };
std::string_view to_string(TokenRefusal refusal);

// Binds task tokens to their use: a v4.local token made for anything else does not verify.
inline constexpr std::string_view kTaskTokenImplicit = "warden:task-token:v1";

std::string encode_claims(const TaskClaims& claims);
std::optional<TaskClaims> decode_claims(std::string_view json);

// The footer names the key that made the token: {"kid":"k4.lid..."}.
std::string encode_footer(std::string_view key_id);
std::optional<std::string> footer_key_id(std::string_view footer);

std::string issue_task_token(std::span<const uint8_t, 32> key, std::string_view key_id,
                             const TaskClaims& claims);

// Looks up a token key by its id; returns false if the id is unknown (or retired).
using TokenKeyLookup = std::function<bool(std::string_view key_id, std::span<uint8_t, 32> out)>;

// Verifies structure, key, authentication tag and validity window at `now`.
std::variant<TaskClaims, TokenRefusal> verify_task_token(std::string_view token,
                                                         const TokenKeyLookup& lookup, int64_t now);

}  // namespace warden
