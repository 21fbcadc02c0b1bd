#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace warden::oauth {

// The headers every page of the sign-in flow is served with: no framing (clickjacking), no
// script, forms post only to us, nothing cached, no Referer leaking the URL. The consent page
// (for_consent) also lets its form's answer redirect to a client: browsers apply form-action to
// the redirects after a form is posted, and redirect URIs are https or http on loopback only.
std::vector<std::pair<std::string, std::string>> page_headers(bool for_consent = false);

// Text made safe for HTML element content and quoted attribute values.
std::string html_escape(std::string_view text);

// The consent page for warden.complete_sign_in's view: names the agent (and its client), the
// person signed in, the purpose and the tools; a form POSTing to /consent with the request id
// and the single-use consent token (the CSRF token) as hidden fields, and Approve / Deny.
std::string consent_page(const nlohmann::json& view);

// A page that says why the flow stopped (no redirect: the client may not be who it says).
std::string error_page(std::string_view title, std::string_view message);

}  // namespace warden::oauth
