#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace warden {

// What the audit keeps of a call's arguments: sensitive values redacted (redaction.hpp) and
// strings longer than max_string_bytes replaced by a marker giving their size, so one huge
// argument cannot bloat the audit table. The keyed digest of the full arguments proves the rest.
nlohmann::json audit_copy_of_arguments(const nlohmann::json& arguments, size_t max_string_bytes);

// What a message (constraint verdict, decision detail, error, log line) may show of a value taken
// from a call's arguments: the value with sensitive members redacted exactly as in the audit copy,
// as canonical JSON cut to max_bytes. Every place that quotes an argument uses this, so a value
// under a sensitive key is redacted the same way everywhere, at any depth. It cannot know the key
// the value itself sits under: a caller quoting the value of a sensitive key must not quote it at
// all.
std::string redacted_excerpt(const nlohmann::json& value, size_t max_bytes);

}  // namespace warden
