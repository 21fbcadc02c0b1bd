#include "frontend/net/param_headers.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <string>

namespace warden::mcp {

namespace {

constexpr std::string_view kWrapStart = "=?base64?";
constexpr std::string_view kWrapEnd = "?=";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Subschema keywords under which a property is not statically reachable: a mark there is
// invalid (the header could not be derived from the arguments without evaluating the schema).
constexpr std::array<std::string_view, 20> kUnreachable = {"dependencies",
                                                           "contentSchema",
                                                           "items",
                                                           "prefixItems",
                                                           "contains",
                                                           "additionalProperties",
                                                           "unevaluatedProperties",
                                                           "unevaluatedItems",
                                                           "propertyNames",
                                                           "patternProperties",
                                                           "dependentSchemas",
                                                           "oneOf",
                                                           "anyOf",
                                                           "allOf",
                                                           "not",
                                                           "if",
                                                           "then",
                                                           "else",
                                                           "$defs",
                                                           "definitions"};

bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c))) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int alphabet_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string base64(std::string_view bytes) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Canonical padded Base64 only (a length that is a multiple of four, padding only at the end,
// no bits set past the data): anything else is refused, not guessed at.
std::optional<std::string> unbase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=') {
        if (i + 4 != text.size() || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = alphabet_index(c);
      if (v[k] < 0) return std::nullopt;
    }
    unsigned bits = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out += static_cast<char>((bits >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((bits >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(bits & 0xff);
    if ((pad == 2 && (v[1] & 0x0f) != 0) || (pad == 1 && (v[2] & 0x03) != 0)) return std::nullopt;
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int extra;
    if (c < 0x80) {
      extra = 0;
    } else if ((c >> 5) == 0x6) {
      extra = 1;
    } else if ((c >> 4) == 0xe) {
      extra = 2;
    } else if ((c >> 3) == 0x1e) {
      extra = 3;
    } else {
      return false;
    }
    if (extra > 0 && i + extra >= s.size()) return false;
    unsigned cp = extra == 0 ? c : c & (0x3fu >> extra);
    for (int k = 1; k <= extra; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and code points past Unicode are not UTF-8.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

// -?digits(.digits)? : the only number spelling compared numerically.
bool canonical_decimal(std::string_view s) {
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  std::size_t digits = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == digits) return false;
  if (i == s.size()) return true;
  if (s[i] != '.') return false;
  std::size_t fraction = ++i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  return i > fraction && i == s.size();
}

bool plain_header_text(std::string_view value) {
  if (value.empty()) return true;
  if (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
      value.back() == '\t') {
    return false;
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  // A plain value that looks like the wrapper would be read as one.
  return value.rfind(kWrapStart, 0) != 0;
}

// The text a primitive argument stands for in a header; nullopt for what has none (null,
// objects, arrays, numbers that are not exact).
std::optional<std::string> argument_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (!std::isfinite(d)) return std::nullopt;
    if (d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
      return std::to_string(static_cast<long long>(d));
    }
    return value.dump();
  }
  return std::nullopt;
}

const json* at_path(const json& root, const std::vector<std::string>& path) {
  const json* node = &root;
  for (const auto& key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

// Walks the schema; false on an invalid mark.
bool scan(const json& node, std::vector<std::string>& path, bool reachable,
          std::vector<ParamHeader>& out, std::vector<std::string>& seen, int depth) {
  if (!node.is_object()) return true;
  if (depth > 32) return false;  // deeper than any tool schema needs: refused, not recursed
  auto mark = node.find("x-mcp-header");
  if (mark != node.end()) {
    if (!reachable || path.empty() || !mark->is_string()) return false;
    const std::string name = mark->get<std::string>();
    if (!is_token(name)) return false;
    auto type = node.find("type");
    if (type == node.end() || !type->is_string()) return false;
    const std::string t = type->get<std::string>();
    if (t != "string" && t != "integer" && t != "boolean") return false;
    std::string folded = lower(name);
    for (const auto& s : seen) {
      if (s == folded) return false;
    }
    seen.push_back(folded);
    out.push_back(ParamHeader{path, name, t});
  }
  auto properties = node.find("properties");
  if (properties != node.end() && properties->is_object()) {
    for (const auto& [key, child] : properties->items()) {
      path.push_back(key);
      bool ok = scan(child, path, reachable, out, seen, depth + 1);
      path.pop_back();
      if (!ok) return false;
    }
  }
  for (auto keyword : kUnreachable) {
    auto sub = node.find(std::string(keyword));
    if (sub == node.end()) continue;
    std::vector<const json*> branches;
    if (sub->is_array() ||
        (sub->is_object() && (keyword == "patternProperties" || keyword == "dependentSchemas" ||
                              keyword == "$defs" || keyword == "definitions"))) {
      for (const auto& b : *sub) branches.push_back(&b);
    } else {
      branches.push_back(&*sub);
    }
    for (const json* b : branches) {
      path.push_back("<" + std::string(keyword) + ">");
      bool ok = scan(*b, path, false, out, seen, depth + 1);
      path.pop_back();
      if (!ok) return false;
    }
  }
  return true;
}

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& p : path) out += (out.empty() ? "" : ".") + p;
  return out;
}

}  // namespace

std::optional<std::vector<ParamHeader>> param_header_declarations(const json& input_schema) {
  std::vector<ParamHeader> out;
  std::vector<std::string> path, seen;
  if (!scan(input_schema, path, true, out, seen, 0)) return std::nullopt;
  return out;
}

std::string encode_header_value(std::string_view text) {
  if (plain_header_text(text)) return std::string(text);
  return std::string(kWrapStart) + base64(text) + std::string(kWrapEnd);
}

std::optional<std::string> decode_header_value(std::string_view value) {
  if (value.size() < kWrapStart.size() + kWrapEnd.size() || value.rfind(kWrapStart, 0) != 0 ||
      value.substr(value.size() - kWrapEnd.size()) != kWrapEnd) {
    // No wrapper: the text itself, which must then be visible ASCII (anything else travels
    // wrapped; raw bytes past ASCII would be read differently by different proxies).
    for (char c : value) {
      if (c < 0x20 || c > 0x7e) return std::nullopt;
    }
    return std::string(value);
  }
  auto decoded =
      unbase64(value.substr(kWrapStart.size(), value.size() - kWrapStart.size() - kWrapEnd.size()));
  if (!decoded || !valid_utf8(*decoded)) return std::nullopt;
  return decoded;
}

std::optional<std::string> param_header_mismatch(
    const std::vector<ParamHeader>& declarations, const json& arguments,
    const std::function<std::optional<std::string>(const std::string&)>& header) {
  for (const auto& d : declarations) {
    const json* value = at_path(arguments, d.path);
    if (value == nullptr || value->is_null()) continue;
    auto text = argument_text(*value);
    if (!text) continue;
    const std::string header_name = "Mcp-Param-" + d.name;
    auto sent = header(lower(header_name));
    if (!sent) {
      return "the body carries " + dotted(d.path) + " but the " + header_name + " header is absent";
    }
    auto decoded = decode_header_value(*sent);
    if (!decoded) return "the " + header_name + " header is not canonical Base64 of UTF-8";
    bool equal = *decoded == *text;
    if (!equal && d.type == "integer" && value->is_number() && canonical_decimal(*decoded)) {
      // 42 and 42.0 are the same integer; compared as text, exactly (never through a double,
      // which would make 2^53 + 1 equal 2^53): the integer part, and a fraction of zeros only.
      auto dot = decoded->find('.');
      bool zero_fraction =
          dot == std::string::npos || decoded->find_first_not_of('0', dot + 1) == std::string::npos;
      equal = zero_fraction && decoded->substr(0, dot) == *text;
    }
    if (!equal) {
      return "the " + header_name + " header does not match " + dotted(d.path) + " in the body";
    }
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> param_headers_for(
    const std::vector<ParamHeader>& declarations, const json& arguments) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& d : declarations) {
    const json* value = at_path(arguments, d.path);
    if (value == nullptr || value->is_null()) continue;
    if (auto text = argument_text(*value)) {
      out.emplace_back("Mcp-Param-" + d.name, encode_header_value(*text));
    }
  }
  return out;
}

}  // namespace warden::mcp
