#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace warden::oauth {

// application/x-www-form-urlencoded (and query strings): '+' is a space, %XX a byte. A name
// given twice is remembered as given twice (OAuth refuses repeated parameters).
class FormFields {
 public:
  // nullopt when the text is not well-formed (a bad %XX escape).
  static std::optional<FormFields> parse(std::string_view text);

  // The value of `name`; empty when absent.
  std::string get(const std::string& name) const;
  bool has(const std::string& name) const;
  // True when some parameter appears more than once.
  bool has_repeats() const { return repeated_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  bool repeated_ = false;
};

// The query of a request target ("" when it has none).
std::string_view query_of(std::string_view target);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string form_encode(std::string_view text);

// name=value&... with each part form_encode'd.
std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields);

// `url` with these parameters added to its query (after '?' or '&').
std::string with_query(std::string url,
                       const std::vector<std::pair<std::string, std::string>>& fields);

// Standard base64 (with padding), for HTTP Basic authentication.
std::string base64_encode(std::string_view bytes);

}  // namespace warden::oauth
