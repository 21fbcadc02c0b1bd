#include "frontend/oauth/approver_cookies.hpp"

#include <sodium.h>

namespace warden::mcp {

std::string approver_session_cookie(const std::string& session, bool tls) {
  return std::string(kApproverCookie) + "=" + session +
         "; Path=/approvals; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "");
}

std::string approver_binding_cookie(const std::string& binding, bool tls) {
  // Path=/: the provider returns to the issuer's /callback, which may sit below any path.
  return std::string(kApproverBindingCookie) + "=" + binding +
         "; Path=/; HttpOnly; SameSite=Lax; Max-Age=600" + (tls ? "; Secure" : "");
}

std::string approver_binding_cookie_cleared(bool tls) {
  return std::string(kApproverBindingCookie) + "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0" +
         (tls ? "; Secure" : "");
}

std::string console_session_cookie(const std::string& session, bool tls) {
  return std::string(kConsoleCookie) + "=" + session +
         "; Path=/console; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "");
}

std::string console_session_cookie_cleared(bool tls) {
  return std::string(kConsoleCookie) + "=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0" +
         (tls ? "; Secure" : "");
}

std::string cookie_value(const std::string& header, const std::string& name) {
  size_t at = 0;
  while (at < header.size()) {
    size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(at, end - at);
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    at = end + 1;
  }
  return std::string();
}

std::string random_cookie_secret() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

}  // namespace warden::mcp
