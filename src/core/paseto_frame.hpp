#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/token_error.hpp"

namespace warden::paseto {

// A v4 token split into its decoded body and footer; the body is not yet authenticated.
struct Frame {
  std::vector<uint8_t> body;
  std::string footer;
};

// The still-encoded pieces of "v4.<purpose>.<body>[.<footer>]"; purpose is local or public.
struct RawParts {
  std::string_view purpose;
  std::string_view body;
  std::string_view footer;  // empty when absent
};

// Checks size, version and overall shape without decoding anything.
std::variant<RawParts, TokenError> split_token(std::string_view token);

// Checks size, "v4.<purpose>." header and strict base64url of body and footer, mapping each
// failure to the TokenError a caller should report.
std::variant<Frame, TokenError> open_frame(std::string_view token, std::string_view purpose);

// Assembles "v4.<purpose>." + base64url(body) [+ "." + base64url(footer)].
std::string seal_frame(std::string_view header, std::string_view body, std::string_view footer);

}  // namespace warden::paseto
