#include "core/core_only.hpp"

#include "core/paseto_frame.hpp"

#include <algorithm>

#include "core/base64url.hpp"
#include "core/byte_view.hpp"
#include "core/paseto.hpp"

namespace warden::paseto {
namespace {

// "v3", "v10": another PASETO version rather than garbage, worth a distinct error.
bool looks_like_version(std::string_view s) {
  return s.size() >= 2 && s.size() <= 4 && s[0] == 'v' &&
         std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::variant<RawParts, TokenError> split_token(std::string_view token) {
  if (token.size() > kMaxTokenSize) return TokenError::too_large;
  const size_t v_end = token.find('.');
  if (v_end == std::string_view::npos) return TokenError::malformed;
  const std::string_view version = token.substr(0, v_end);
  if (version != "v4") {
    return looks_like_version(version) ? TokenError::wrong_version : TokenError::malformed;
  }
  std::string_view rest = token.substr(v_end + 1);
  const size_t p_end = rest.find('.');
  if (p_end == std::string_view::npos) return TokenError::malformed;
  RawParts parts;
  parts.purpose = rest.substr(0, p_end);
  if (parts.purpose != "local" && parts.purpose != "public") return TokenError::malformed;
  rest = rest.substr(p_end + 1);
  const size_t b_end = rest.find('.');
  parts.body = rest.substr(0, b_end);
  if (b_end != std::string_view::npos) {
    parts.footer = rest.substr(b_end + 1);
    // An empty footer must be omitted together with its dot; more dots are never valid.
    if (parts.footer.empty() || parts.footer.find('.') != std::string_view::npos) {
      return TokenError::malformed;
    }
  }
  return parts;
}

std::variant<Frame, TokenError> open_frame(std::string_view token, std::string_view purpose) {
  auto split = split_token(token);
  if (auto* error = std::get_if<TokenError>(&split)) return *error;
  const RawParts& parts = std::get<RawParts>(split);
  if (parts.purpose != purpose) return TokenError::wrong_purpose;
  auto body = base64url_decode(parts.body);
  auto footer = base64url_decode(parts.footer);
  if (!body || !footer) return TokenError::malformed;
  return Frame{std::move(*body), std::string(char_view(*footer))};
}

std::string seal_frame(std::string_view header, std::string_view body, std::string_view footer) {
  std::string token(header);
  token += base64url_encode(byte_view(body));
  if (!footer.empty()) {
    token += '.';
    token += base64url_encode(byte_view(footer));
  }
  return token;
}

std::optional<std::string> peek_footer(std::string_view token) {
  auto split = split_token(token);
  const RawParts* parts = std::get_if<RawParts>(&split);
  if (parts == nullptr) return std::nullopt;
  auto footer = base64url_decode(parts->footer);
  if (!footer) return std::nullopt;
  return std::string(char_view(*footer));
}

}  // namespace warden::paseto
