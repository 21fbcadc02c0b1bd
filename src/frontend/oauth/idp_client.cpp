#include "frontend/oauth/idp_client.hpp"

#include <chrono>
#include <iostream>

#include "frontend/oauth/fetcher.hpp"
#include "frontend/oauth/form.hpp"
#include "frontend/oauth/id_token.hpp"
#include "frontend/oauth/jws.hpp"

namespace warden::oauth {

namespace {

using nlohmann::json;

std::string string_field(const json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

IdpResult failed(std::string why) {
  return IdpResult{json(), std::move(why)};
}

// The JSON object a fetch returned with 200, or why not.
IdpResult json_document(const Outcome<FetchedDocument>& fetched, const std::string& what) {
  if (!fetched) return failed(what + ": " + std::string(to_string(fetched.error())));
  if (fetched.value().status != 200) {
    return failed(what + ": HTTP " + std::to_string(fetched.value().status));
  }
  json document = json::parse(fetched.value().body, nullptr, false);
  if (!document.is_object()) return failed(what + ": not a JSON object");
  return IdpResult{std::move(document), ""};
}

}  // namespace

mcp::awaitable<IdpResult> IdpClient::discover(std::string idp) {
  json provider;
  try {
    provider = co_await store_.identity_provider(idp);
  } catch (const std::exception& e) {
    co_return failed(std::string("identity provider: ") + e.what());
  }
  std::string issuer = string_field(provider, "issuer");
  std::string name = string_field(provider, "name");
  if (issuer.empty()) co_return failed("identity provider has no issuer");
  std::string base = issuer;
  if (!base.empty() && base.back() == '/') base.pop_back();
  auto fetched = co_await fetch_document(base + "/.well-known/openid-configuration", fetch_);
  IdpResult discovery = json_document(fetched, "discovery at " + base);
  if (!discovery.ok()) co_return discovery;
  std::string jwks_uri = string_field(discovery.value, "jwks_uri");
  if (jwks_uri.empty()) co_return failed("discovery document has no jwks_uri");
  auto fetched_keys = co_await fetch_document(jwks_uri, fetch_);
  IdpResult jwks = json_document(fetched_keys, "JWKS at " + jwks_uri);
  if (!jwks.ok()) co_return jwks;
  auto parsed = parse_jwks(fetched_keys.value().body);
  if (!parsed) co_return failed("JWKS: " + std::string(to_string(parsed.error())));
  try {
    json stored = co_await store_.store_idp_metadata(name, discovery.value, parsed.value());
    co_return IdpResult{std::move(stored), ""};
  } catch (const std::exception& e) {
    co_return failed(std::string("storing the provider's metadata: ") + e.what());
  }
}

mcp::awaitable<IdpResult> IdpClient::provider(std::string idp) {
  json provider;
  try {
    provider = co_await store_.identity_provider(idp);
  } catch (const std::exception& e) {
    co_return failed(std::string("identity provider: ") + e.what());
  }
  if (!provider.is_object() || !provider.contains("discovery") ||
      !provider["discovery"].is_object()) {
    IdpResult discovered = co_await discover(idp);
    if (!discovered.ok()) co_return discovered;
    try {
      provider = co_await store_.identity_provider(idp);
    } catch (const std::exception& e) {
      co_return failed(std::string("identity provider: ") + e.what());
    }
  }
  co_return IdpResult{std::move(provider), ""};
}

mcp::awaitable<IdpResult> IdpClient::exchange_code(json provider, std::string code,
                                                   std::string code_verifier,
                                                   std::string redirect_uri) {
  const json& discovery = provider["discovery"];
  std::string endpoint = string_field(discovery, "token_endpoint");
  if (endpoint.empty()) co_return failed("discovery document has no token_endpoint");
  std::string client_id = string_field(provider, "client_id");
  std::string name = string_field(provider, "name");
  std::optional<std::string> secret;
  if (provider.value("has_secret", false)) {
    try {
      secret = co_await store_.idp_client_secret(name);
    } catch (const std::exception& e) {
      co_return failed(std::string("client secret: ") + e.what());
    }
  }
  std::vector<std::pair<std::string, std::string>> fields{{"grant_type", "authorization_code"},
                                                          {"code", code},
                                                          {"redirect_uri", redirect_uri},
                                                          {"code_verifier", code_verifier}};
  FormPost post;
  bool basic = true;
  if (secret) {
    auto methods = discovery.find("token_endpoint_auth_methods_supported");
    if (methods != discovery.end() && methods->is_array()) {
      bool has_basic = false, has_post = false;
      for (const auto& m : *methods) {
        has_basic = has_basic || m == "client_secret_basic";
        has_post = has_post || m == "client_secret_post";
      }
      basic = has_basic || !has_post;
    }
    if (basic) {
      post.authorization =
          "Basic " + base64_encode(form_encode(client_id) + ":" + form_encode(*secret));
    } else {
      fields.emplace_back("client_id", client_id);
      fields.emplace_back("client_secret", *secret);
    }
  } else {
    fields.emplace_back("client_id", client_id);
  }
  post.body = form_body(fields);
  auto answered = co_await post_form(endpoint, fetch_, std::move(post));
  if (!answered) {
    co_return failed("token endpoint: " + std::string(to_string(answered.error())));
  }
  json body = json::parse(answered.value().body, nullptr, false);
  if (answered.value().status != 200 || !body.is_object()) {
    co_return failed("token endpoint: HTTP " + std::to_string(answered.value().status) + " " +
                     string_field(body, "error"));
  }
  co_return IdpResult{std::move(body), ""};
}

mcp::awaitable<IdpResult> IdpClient::verify_id_token(json provider, std::string id_token) {
  // The nonce is only known hashed (warden.complete_sign_in compares it); here the token's own
  // nonce is required to be present and is compared there.
  auto parsed = parse_jws(id_token);
  if (!parsed) co_return failed("ID token: " + std::string(to_string(parsed.error())));
  std::string nonce = string_field(parsed.value().payload, "nonce");
  if (nonce.empty()) co_return failed("ID token: no nonce");
  IdTokenExpectations expected;
  expected.issuer = string_field(provider, "issuer");
  expected.client_id = string_field(provider, "client_id");
  expected.audience = string_field(provider, "audience");
  expected.nonce = nonce;
  expected.now = now_seconds();
  json jwks = {{"keys", provider.value("keys", json::array())}};
  auto claims = validate_id_token(id_token, jwks, expected);
  if (!claims && claims.error() == OAuthError::unknown_kid &&
      refresh_limiter_.try_acquire(expected.issuer)) {
    std::string name = string_field(provider, "name");
    IdpResult discovered = co_await discover(name);
    if (!discovered.ok()) co_return discovered;
    IdpResult fresh = co_await this->provider(name);
    if (!fresh.ok()) co_return fresh;
    jwks = {{"keys", fresh.value.value("keys", json::array())}};
    claims = validate_id_token(id_token, jwks, expected);
  }
  if (!claims) co_return failed("ID token: " + std::string(to_string(claims.error())));
  co_return IdpResult{claims.value(), ""};
}

}  // namespace warden::oauth
