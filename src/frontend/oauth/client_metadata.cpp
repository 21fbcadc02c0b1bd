#include "frontend/oauth/client_metadata.hpp"

#include <algorithm>

#include "core/bounded_json.hpp"
#include "core/control_characters.hpp"
#include "frontend/net/loopback.hpp"
#include "frontend/net/url.hpp"
#include "frontend/oauth/fetch_policy.hpp"

namespace warden::oauth {
namespace {

constexpr size_t kMaxDocumentDepth = 8;

bool refuse(std::string* reason, const char* why) {
  if (reason != nullptr) *reason = why;
  return false;
}

bool has_dot_segment(std::string_view path) {
  path = path.substr(0, path.find('?'));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

// Every entry is a string from `allowed`.
bool only_values(const nlohmann::json& list, std::initializer_list<std::string_view> allowed) {
  if (!list.is_array()) return false;
  return std::all_of(list.begin(), list.end(), [&](const nlohmann::json& v) {
    return v.is_string() && std::find(allowed.begin(), allowed.end(),
                                      v.get_ref<const std::string&>()) != allowed.end();
  });
}

}  // namespace

bool is_client_id_url(std::string_view client_id, std::string* reason) {
  if (client_id.rfind("https://", 0) != 0) return refuse(reason, "client_id is not an https URL");
  if (client_id.find('#') != std::string_view::npos) {
    return refuse(reason, "client_id has a fragment");
  }
  auto url = mcp::parse_url(client_id);
  if (!url) return refuse(reason, "client_id is not a valid URL");
  std::string_view path = std::string_view(url->target).substr(0, url->target.find('?'));
  if (path.size() < 2) return refuse(reason, "client_id has no path");
  if (has_dot_segment(url->target)) return refuse(reason, "client_id has a dot segment");
  return true;
}

bool is_acceptable_redirect_uri(std::string_view uri) {
  if (uri.empty() || uri.size() > kMaxRedirectUriLength) return false;
  if (uri.find('#') != std::string_view::npos) return false;
  if (uri.find_first_of(" \t\r\n\\") != std::string_view::npos) return false;
  auto url = mcp::parse_url(uri);
  if (!url) return false;
  return url->tls || mcp::is_loopback_host(url->host);
}

Outcome<ClientMetadata> check_client_metadata_document(std::string_view document_url,
                                                       std::string_view body, std::string* reason) {
  auto bad = [&](const char* why) {
    refuse(reason, why);
    return OAuthError::bad_client_metadata;
  };
  if (!is_client_id_url(document_url, reason)) return OAuthError::bad_client_metadata;
  if (body.size() > kMaxFetchedDocumentBytes) return bad("the document is too large");
  auto doc = parse_json_bounded(body, kMaxDocumentDepth, kMaxFetchedDocumentBytes);
  if (!doc || !doc->is_object()) return bad("the document is not a JSON object");

  ClientMetadata out;
  auto client_id = doc->find("client_id");
  if (client_id == doc->end() || !client_id->is_string() || *client_id != document_url) {
    return bad("client_id does not equal the document's URL");
  }
  out.client_id = document_url;

  auto uris = doc->find("redirect_uris");
  if (uris == doc->end() || !uris->is_array() || uris->empty() || uris->size() > kMaxRedirectUris) {
    return bad("redirect_uris must list 1 to 20 URIs");
  }
  for (const auto& uri : *uris) {
    if (!uri.is_string() || !is_acceptable_redirect_uri(uri.get_ref<const std::string&>())) {
      return bad("a redirect URI is not absolute https or loopback http, or has a fragment");
    }
    out.redirect_uris.push_back(uri.get<std::string>());
  }

  if (auto name = doc->find("client_name"); name != doc->end()) {
    if (!name->is_string()) return bad("client_name is not a string");
    const auto& text = name->get_ref<const std::string&>();
    // Characters, not bytes: count UTF-8 lead bytes.
    size_t characters = std::count_if(text.begin(), text.end(), [](char ch) {
      return (static_cast<unsigned char>(ch) & 0xc0) != 0x80;
    });
    if (characters > kMaxClientNameLength) return bad("client_name is too long");
    if (has_control_characters(text)) return bad("client_name has control characters");
    out.client_name = text;
  }
  if (doc->contains("client_secret") || doc->contains("client_secret_expires_at")) {
    return bad("a metadata document must not carry a client secret");
  }
  if (auto method = doc->find("token_endpoint_auth_method");
      method != doc->end() && *method != "none") {
    return bad("token_endpoint_auth_method must be none");
  }
  if (auto grants = doc->find("grant_types");
      grants != doc->end() && !only_values(*grants, {"authorization_code", "refresh_token"})) {
    return bad("grant_types may only be authorization_code and refresh_token");
  }
  if (auto types = doc->find("response_types");
      types != doc->end() && !only_values(*types, {"code"})) {
    return bad("response_types may only be code");
  }
  return out;
}

}  // namespace warden::oauth
