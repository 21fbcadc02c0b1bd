#include "core/core_only.hpp"

#include "core/task_token.hpp"

#include <sodium.h>

#include <array>
#include <nlohmann/json.hpp>

#include "core/paseto.hpp"
#include "core/secret_bytes.hpp"

namespace warden {

namespace {

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
  Key32 key;
  if (!lookup(*kid, key.writable())) return TokenRefusal::unknown_key;
  paseto::Result opened = paseto::local_decrypt(key.view(), token, kTaskTokenImplicit);
  key.wipe();
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
