#pragma once

#include <optional>
#include <string>

#include "frontend/db/db_pool.hpp"
#include "frontend/mcp/json_rpc.hpp"

namespace warden::mcp {

// The authorization server's database calls (src/sql/functions/oauth.sql, identity.sql), typed.
// Every secret travels as a query parameter. OAuth refusals raised by the database arrive as
// DbError with SQLSTATE WA400 (error page), WA302 (redirect with error) or WR400
// (registration error); an absent optional argument is passed as SQL NULL.
class OAuthStore {
 public:
  explicit OAuthStore(DbPool& pool) : pool_(pool) {}

  awaitable<json> public_keys();
  awaitable<json> identity_provider(const std::optional<std::string>& idp);
  awaitable<json> store_idp_metadata(const std::string& idp, const json& discovery,
                                     const json& jwks);
  awaitable<std::optional<std::string>> idp_client_secret(const std::string& idp);
  awaitable<json> begin_authorization(const std::string& client_id, const std::string& redirect_uri,
                                      const std::string& code_challenge,
                                      const std::string& code_challenge_method,
                                      const std::string& state, const std::string& scope,
                                      const std::string& resource,
                                      const std::optional<std::string>& idp);
  awaitable<json> idp_callback(const std::string& idp_state);
  // refusal: warden-mcp got no verified ID token, and why (claims are then ignored); id_token:
  // the token as received, which the database verifies itself when the provider's keys are
  // pinned.
  awaitable<json> complete_sign_in(const std::string& idp_state, const json& claims,
                                   const std::optional<std::string>& refusal = std::nullopt,
                                   const std::string& id_token = {});
  awaitable<json> consent(const std::string& request_id, const std::string& consent_token,
                          bool approve);
  // An approver's sign-in to the approval page (approver_sign_in.sql): binding is the secret
  // of the browser's binding cookie; id_token the provider's ID token as received (the database
  // verifies it again, with the keys an administrator pinned), empty when there was none.
  awaitable<json> begin_approver_sign_in(const std::optional<std::string>& idp,
                                         const std::string& next, const std::string& binding);
  awaitable<json> complete_approver_sign_in(const std::string& idp_state,
                                            const std::string& binding, const std::string& id_token,
                                            const std::optional<std::string>& refusal);
  awaitable<json> redeem_authorization_code(const std::string& code,
                                            const std::string& code_verifier,
                                            const std::string& client_id,
                                            const std::string& redirect_uri,
                                            const std::string& resource,
                                            const std::optional<std::string>& dpop_jkt);
  awaitable<json> refresh_access_token(const std::string& refresh_token,
                                       const std::string& client_id,
                                       const std::optional<std::string>& dpop_jkt);
  awaitable<void> revoke_oauth_token(const std::string& token, const std::string& client_id);
  awaitable<json> register_dynamic_client(const json& metadata);
  // may_create false: an unknown client is refused (WR429), a known one proceeds.
  awaitable<json> register_metadata_client(const std::string& client_id, const json& metadata,
                                           bool may_create);
  // Machine flows (machine_identity.sql): the keys that may have signed a JWT with these
  // (unverified) iss and sub, and the decision on what warden-mcp verified.
  awaitable<json> assertion_keys(const std::string& iss, const std::string& sub);
  awaitable<json> exchange_token(const json& request);

 private:
  // The single jsonb value `sql` returns (SQL NULL: json null).
  awaitable<json> value(const std::string& sql, const std::vector<Param>& params,
                        const char* function);

  DbPool& pool_;
};

}  // namespace warden::mcp
