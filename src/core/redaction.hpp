#pragma once

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

namespace warden {

// Containers nested deeper than this are replaced by "[truncated]" so hostile input cannot
// exhaust the stack; the root is depth 0.
inline constexpr size_t kRedactionMaxDepth = 64;

// True if key contains, ASCII case-insensitively, one of: password, passwd, secret, token, key,
// authorization, credential, cookie, private. Deliberately broad ("monkey" matches): an audit
// log showing "[redacted]" for a harmless value is cheaper than one leaking a credential.
bool is_sensitive_key(std::string_view key);

// Copy of args with the value of every object member whose key is sensitive (at any depth,
// whatever the value's type) replaced by "[redacted]"; structure is otherwise kept.
nlohmann::json redact_arguments(const nlohmann::json& args);

}  // namespace warden
