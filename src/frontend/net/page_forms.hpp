#pragma once

#include <string>
#include <string_view>

#include "frontend/mcp/json_rpc.hpp"

// What the server-rendered pages (approvals, console) share for their forms: reading posted
// bodies and database rows, and the session-bound CSRF token every POST carries.
namespace warden::mcp::page_forms {

// A row's field as text: a string as it is, null or missing as "", anything else as JSON.
std::string field(const json& row, const char* name);
// Whether a request's Content-Type is application/x-www-form-urlencoded (parameters ignored).
bool is_form(const std::string& content_type);
bool looks_like_uuid(std::string_view text);
// The CSRF token of a page family (`context`, e.g. "warden console csrf") for a session: a keyed
// hash of the session id, so another site cannot know it and it changes with each sign-in; two
// page families never accept each other's token.
std::string csrf_token(const std::string& session, std::string_view context);
bool equal_in_constant_time(const std::string& a, const std::string& b);

}  // namespace warden::mcp::page_forms
