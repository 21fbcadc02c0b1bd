#pragma once

#include <string>

namespace warden::mcp {

// The approval page's two cookies, shared by the page (ApprovalPages) and the identity
// provider's callback (oauth::AuthorizationServer), which opens an approver session.
//
// warden_approver: the approver session (HttpOnly, SameSite=Strict, Path=/approvals): sent only
// with requests our own pages start, so a form elsewhere cannot act with it.
// warden_approver_binding: set on the browser that starts a sign-in at the identity provider
// (HttpOnly, SameSite=Lax so that the provider's top-level redirect back carries it, 10
// minutes); the callback must come with it, so a callback URL opened in another browser signs
// nobody in (no login CSRF).
inline constexpr const char* kApproverCookie = "warden_approver";
inline constexpr const char* kApproverBindingCookie = "warden_approver_binding";
// warden_console: a console session (issue 16), opened by the same sign-in when it was started
// from /console (HttpOnly, SameSite=Strict, Path=/console).
inline constexpr const char* kConsoleCookie = "warden_console";

// Set-Cookie values; `tls` adds Secure (the gateway's public URL is https).
std::string approver_session_cookie(const std::string& session, bool tls);
std::string approver_binding_cookie(const std::string& binding, bool tls);
std::string approver_binding_cookie_cleared(bool tls);
std::string console_session_cookie(const std::string& session, bool tls);
std::string console_session_cookie_cleared(bool tls);

// The value of cookie `name` in a Cookie header, or "".
std::string cookie_value(const std::string& header, const std::string& name);

// 32 random bytes, base64url (43 characters): a browser binding or a form token.
std::string random_cookie_secret();

}  // namespace warden::mcp
