#include "core/task_token.hpp"

#include <sodium.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/paseto.hpp"

namespace warden {

namespace {

// Howard Hinnant's civil-date arithmetic, proleptic Gregorian.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool read_digits(std::string_view s, size_t pos, size_t n, int& out) {
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = s[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(TokenRefusal refusal) {
  switch (refusal) {
    case TokenRefusal::malformed:
      return "malformed";
    case TokenRefusal::unknown_key:
      return "unknown_key";
    case TokenRefusal::bad_tag:
      return "bad_tag";
    case TokenRefusal::expired:
      return "expired";
    case TokenRefusal::not_yet_valid:
      return "not_yet_valid";
  }
  return "malformed";
}

std::string format_rfc3339(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t secs = t - days * 86400;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60));
  return buf;
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ: warden only reads times it wrote.
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  int y, mo, d, h, mi, se;
  if (!read_digits(s, 0, 4, y) || !read_digits(s, 5, 2, mo) || !read_digits(s, 8, 2, d) ||
      !read_digits(s, 11, 2, h) || !read_digits(s, 14, 2, mi) || !read_digits(s, 17, 2, se)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return std::nullopt;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  // Reject dates like February 30 that would silently roll over.
  int64_t cy = 0;
  unsigned cm = 0, cd = 0;
  civil_from_days(days, cy, cm, cd);
  if (cy != y || static_cast<int>(cm) != mo || static_cast<int>(cd) != d) return std::nullopt;
  return days * 86400 + h * 3600 + mi * 60 + se;
}

std::string encode_claims(const TaskClaims& c) {
  nlohmann::json j = {
      {"jti", c.token_id},
      {"chn", c.chain_id},
      {"sub", c.agent_id},
      {"iat", format_rfc3339(c.issued_at)},
      {"nbf", format_rfc3339(c.not_before)},
      {"exp", format_rfc3339(c.expires_at)},
  };
  if (!c.parent_id.empty()) j["par"] = c.parent_id;
  return j.dump();
}

std::optional<TaskClaims> decode_claims(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto str = [&](const char* k) -> const std::string* {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
  };
  const std::string *jti = str("jti"), *chn = str("chn"), *sub = str("sub"), *iat = str("iat"),
                    *nbf = str("nbf"), *exp = str("exp"), *par = str("par");
  if (!jti || !chn || !sub || !iat || !nbf || !exp) return std::nullopt;
  if (j.contains("par") && !par) return std::nullopt;
  TaskClaims c;
  c.token_id = *jti;
  c.chain_id = *chn;
  c.agent_id = *sub;
  c.parent_id = par ? *par : std::string();
  if (!is_uuid(c.token_id) || !is_uuid(c.chain_id) || !is_uuid(c.agent_id) ||
      (par && !is_uuid(c.parent_id))) {
    return std::nullopt;
  }
  auto i = parse_rfc3339(*iat), n = parse_rfc3339(*nbf), e = parse_rfc3339(*exp);
  if (!i || !n || !e) return std::nullopt;
  c.issued_at = *i;
  c.not_before = *n;
  c.expires_at = *e;
  return c;
}

std::string encode_footer(std::string_view key_id) {
  return nlohmann::json({{"kid", std::string(key_id)}}).dump();
}

std::optional<std::string> footer_key_id(std::string_view footer) {
  nlohmann::json j = nlohmann::json::parse(footer, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.size() != 1) return std::nullopt;
  auto it = j.find("kid");
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string issue_task_token(std::span<const uint8_t, 32> key, std::string_view key_id,
                             const TaskClaims& claims) {
  return paseto::local_encrypt(key, encode_claims(claims), encode_footer(key_id),
                               kTaskTokenImplicit);
}

std::variant<TaskClaims, TokenRefusal> verify_task_token(std::string_view token,
                                                         const TokenKeyLookup& lookup,
                                                         int64_t now) {
  if (token.size() > paseto::kMaxTokenSize || token.substr(0, 9) != "v4.local.") {
    return TokenRefusal::malformed;
  }
  auto footer = paseto::peek_footer(token);
  if (!footer) return TokenRefusal::malformed;
  auto kid = footer_key_id(*footer);
  if (!kid) return TokenRefusal::malformed;
  std::array<uint8_t, 32> key{};
  if (!lookup(*kid, key.data())) return TokenRefusal::unknown_key;
  paseto::Result opened = paseto::local_decrypt(key, token, kTaskTokenImplicit);
  sodium_memzero(key.data(), key.size());
  if (!opened) {
    return opened.error() == TokenError::bad_tag ? TokenRefusal::bad_tag : TokenRefusal::malformed;
  }
  auto claims = decode_claims(opened.value().payload);
  if (!claims) return TokenRefusal::malformed;
  if (now >= claims->expires_at) return TokenRefusal::expired;
  if (now < claims->not_before) return TokenRefusal::not_yet_valid;
  return *claims;
}

}  // namespace warden
