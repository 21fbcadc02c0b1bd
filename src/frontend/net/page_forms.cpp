#include "frontend/net/page_forms.hpp"

#include <cctype>

#include <sodium.h>

namespace warden::mcp::page_forms {

std::string field(const json& row, const char* name) {
  auto it = row.find(name);
  if (it == row.end() || it->is_null()) return std::string();
  return it->is_string() ? it->get<std::string>() : it->dump();
}

bool is_form(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/x-www-form-urlencoded";
}

bool looks_like_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string csrf_token(const std::string& session, std::string_view context) {
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(session.data()),
                     session.size(), reinterpret_cast<const unsigned char*>(context.data()),
                     context.size());
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char b : out) {
    s.push_back(hex[b >> 4]);
    s.push_back(hex[b & 15]);
  }
  return s;
}

bool equal_in_constant_time(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace warden::mcp::page_forms
