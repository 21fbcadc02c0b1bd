#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/task_token.hpp"

namespace warden::pg {

// Associated data that binds a sealed key to its row.
std::string key_binding(const std::string& key_id, const std::string& purpose);

// Opens a sealed key row's secret with the token-wrap subkey; throws if it does not open
// (which means the row was altered or the root key changed).
std::vector<uint8_t> open_sealed_key(const std::string& key_id, const std::string& purpose,
                                     const std::vector<uint8_t>& sealed);

// Verifies a task token string: structure, key (from warden.keys, not retired), tag, window.
// Needs an open SPI connection.
std::variant<TaskClaims, TokenRefusal> open_task_token(std::string_view token);

}  // namespace warden::pg
