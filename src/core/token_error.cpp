#include "core/core_only.hpp"

#include "core/token_error.hpp"

namespace warden {

std::string_view to_string(TokenError error) {
  switch (error) {
    case TokenError::malformed:
      return "malformed";
    case TokenError::wrong_version:
      return "wrong_version";
    case TokenError::wrong_purpose:
      return "wrong_purpose";
    case TokenError::bad_tag:
      return "bad_tag";
    case TokenError::too_large:
      return "too_large";
    case TokenError::wrong_key_type:
      return "wrong_key_type";
  }
  return "unknown";
}

}  // namespace warden
