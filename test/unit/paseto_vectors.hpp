#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace warden::test {

// Official PASETO/PASERK vectors copied into test/vectors/paseto; nullopt if the file is
// missing or unreadable, which callers turn into a test failure.
inline std::optional<nlohmann::json> load_paseto_vectors(const std::string& file) {
  const std::filesystem::path path =
      std::filesystem::path(WARDEN_TEST_VECTORS_DIR) / "paseto" / file;
  std::ifstream in(path);
  if (!in) return std::nullopt;
  auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("tests") || !doc["tests"].is_array() ||
      doc["tests"].empty()) {
    return std::nullopt;
  }
  return doc;
}

inline std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Vector fields are null when absent for a case; treat null like a missing string.
inline std::optional<std::string> str_field(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || j[name].is_null()) return std::nullopt;
  return j[name].get<std::string>();
}

}  // namespace warden::test
