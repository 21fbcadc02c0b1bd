#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>

namespace warden {

// What the audit keeps of a call's arguments: sensitive values redacted (redaction.hpp) and
// strings longer than max_string_bytes replaced by a marker giving their size, so one huge
// argument cannot bloat the audit table. The keyed digest of the full arguments proves the rest.
nlohmann::json audit_copy_of_arguments(const nlohmann::json& arguments, size_t max_string_bytes);

}  // namespace warden
