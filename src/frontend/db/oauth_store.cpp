#include "frontend/db/oauth_store.hpp"

namespace warden::mcp {

namespace {

// Absent form fields are NULL to the database, never ''.
Param optional_text(const std::string& text) {
  return text.empty() ? Param() : Param(text);
}

}  // namespace

awaitable<json> OAuthStore::value(const std::string& sql, const std::vector<Param>& params,
                                  const char* function) {
  auto rows = co_await pool_.query(sql, params);
  if (rows.size() != 1 || rows.front().empty()) {
    throw DbError("XX000", std::string(function) + " returned no row");
  }
  const auto& cell = rows.front()[0];
  if (!cell) co_return json(nullptr);
  co_return json::parse(*cell);
}

awaitable<json> OAuthStore::public_keys() {
  std::vector<Param> params;
  co_return co_await value("SELECT warden.public_keys()", params, "warden.public_keys");
}

awaitable<json> OAuthStore::identity_provider(const std::optional<std::string>& idp) {
  std::vector<Param> params{idp ? Param(*idp) : Param()};
  co_return co_await value("SELECT warden.identity_provider($1)", params,
                           "warden.identity_provider");
}

awaitable<json> OAuthStore::store_idp_metadata(const std::string& idp, const json& discovery,
                                               const json& jwks) {
  std::vector<Param> params{idp, discovery.dump(), jwks.dump()};
  co_return co_await value("SELECT warden.store_idp_metadata($1, $2::jsonb, $3::jsonb)", params,
                           "warden.store_idp_metadata");
}

awaitable<std::optional<std::string>> OAuthStore::idp_client_secret(const std::string& idp) {
  std::vector<Param> params{idp};
  auto rows = co_await pool_.query("SELECT warden.idp_client_secret($1)", params);
  if (rows.size() != 1 || rows.front().empty()) co_return std::nullopt;
  std::optional<std::string> secret = rows.front()[0];
  co_return secret;
}

awaitable<json> OAuthStore::begin_authorization(const std::string& client_id,
                                                const std::string& redirect_uri,
                                                const std::string& code_challenge,
                                                const std::string& code_challenge_method,
                                                const std::string& state, const std::string& scope,
                                                const std::string& resource,
                                                const std::optional<std::string>& idp) {
  std::vector<Param> params{optional_text(client_id),      optional_text(redirect_uri),
                            optional_text(code_challenge), optional_text(code_challenge_method),
                            optional_text(state),          optional_text(scope),
                            optional_text(resource),       idp ? Param(*idp) : Param()};
  co_return co_await value("SELECT warden.begin_authorization($1, $2, $3, $4, $5, $6, $7, $8)",
                           params, "warden.begin_authorization");
}

awaitable<json> OAuthStore::idp_callback(const std::string& idp_state) {
  std::vector<Param> params{optional_text(idp_state)};
  co_return co_await value("SELECT warden.idp_callback($1)", params, "warden.idp_callback");
}

awaitable<json> OAuthStore::complete_sign_in(const std::string& idp_state, const json& claims,
                                             const std::optional<std::string>& refusal,
                                             const std::string& id_token) {
  std::vector<Param> params{idp_state, claims.dump(), refusal ? Param(*refusal) : Param(),
                            id_token.empty() ? Param() : Param(id_token)};
  co_return co_await value("SELECT warden.complete_sign_in($1, $2::jsonb, $3, $4)", params,
                           "warden.complete_sign_in");
}

awaitable<json> OAuthStore::begin_approver_sign_in(const std::optional<std::string>& idp,
                                                   const std::string& next,
                                                   const std::string& binding) {
  std::vector<Param> params{idp ? Param(*idp) : Param(), next, binding};
  co_return co_await value("SELECT warden.begin_approver_sign_in($1, $2, $3)", params,
                           "warden.begin_approver_sign_in");
}

awaitable<json> OAuthStore::complete_approver_sign_in(const std::string& idp_state,
                                                      const std::string& binding,
                                                      const std::string& id_token,
                                                      const std::optional<std::string>& refusal) {
  std::vector<Param> params{idp_state, binding, id_token.empty() ? Param() : Param(id_token),
                            refusal ? Param(*refusal) : Param()};
  co_return co_await value("SELECT warden.complete_approver_sign_in($1, $2, $3, $4)", params,
                           "warden.complete_approver_sign_in");
}

awaitable<json> OAuthStore::consent(const std::string& request_id, const std::string& consent_token,
                                    bool approve) {
  std::vector<Param> params{request_id, consent_token, Param(approve ? "true" : "false")};
  co_return co_await value("SELECT warden.consent($1::uuid, $2, $3::boolean)", params,
                           "warden.consent");
}

awaitable<json> OAuthStore::redeem_authorization_code(const std::string& code,
                                                      const std::string& code_verifier,
                                                      const std::string& client_id,
                                                      const std::string& redirect_uri,
                                                      const std::string& resource,
                                                      const std::optional<std::string>& dpop_jkt) {
  std::vector<Param> params{optional_text(code),      optional_text(code_verifier),
                            optional_text(client_id), optional_text(redirect_uri),
                            optional_text(resource),  dpop_jkt ? Param(*dpop_jkt) : Param()};
  co_return co_await value("SELECT warden.redeem_authorization_code($1, $2, $3, $4, $5, $6)",
                           params, "warden.redeem_authorization_code");
}

awaitable<json> OAuthStore::refresh_access_token(const std::string& refresh_token,
                                                 const std::string& client_id,
                                                 const std::optional<std::string>& dpop_jkt) {
  std::vector<Param> params{optional_text(refresh_token), optional_text(client_id),
                            dpop_jkt ? Param(*dpop_jkt) : Param()};
  co_return co_await value("SELECT warden.refresh_access_token($1, $2, $3)", params,
                           "warden.refresh_access_token");
}

awaitable<void> OAuthStore::revoke_oauth_token(const std::string& token,
                                               const std::string& client_id) {
  std::vector<Param> params{token, client_id};
  co_await pool_.query("SELECT warden.revoke_oauth_token($1, $2)", params);
}

awaitable<json> OAuthStore::assertion_keys(const std::string& iss, const std::string& sub) {
  std::vector<Param> params{iss, sub};
  co_return co_await value("SELECT warden.assertion_keys($1, $2)", params, "warden.assertion_keys");
}

awaitable<json> OAuthStore::exchange_token(const json& request) {
  std::vector<Param> params{request.dump(-1, ' ', false, json::error_handler_t::replace)};
  co_return co_await value("SELECT warden.exchange_token($1::jsonb)", params,
                           "warden.exchange_token");
}

awaitable<json> OAuthStore::register_dynamic_client(const json& metadata) {
  std::vector<Param> params{metadata.dump()};
  co_return co_await value("SELECT warden.register_dynamic_client($1::jsonb)", params,
                           "warden.register_dynamic_client");
}

awaitable<json> OAuthStore::register_metadata_client(const std::string& client_id,
                                                     const json& metadata, bool may_create) {
  std::vector<Param> params{client_id, metadata.dump(), Param(may_create ? "true" : "false")};
  co_return co_await value("SELECT warden.register_metadata_client($1, $2::jsonb, $3::boolean)",
                           params, "warden.register_metadata_client");
}

}  // namespace warden::mcp
