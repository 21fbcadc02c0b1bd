#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

std::string_view to_string(OAuthError error) {
  switch (error) {
    case OAuthError::malformed:
      return "malformed";
    case OAuthError::too_large:
      return "too_large";
    case OAuthError::alg_not_allowed:
      return "alg_not_allowed";
    case OAuthError::unsupported_key:
      return "unsupported_key";
    case OAuthError::private_key_in_jwk:
      return "private_key_in_jwk";
    case OAuthError::key_mismatch:
      return "key_mismatch";
    case OAuthError::bad_signature:
      return "bad_signature";
    case OAuthError::unknown_kid:
      return "unknown_kid";
    case OAuthError::bad_jwks:
      return "bad_jwks";
    case OAuthError::wrong_issuer:
      return "wrong_issuer";
    case OAuthError::wrong_audience:
      return "wrong_audience";
    case OAuthError::wrong_azp:
      return "wrong_azp";
    case OAuthError::expired:
      return "expired";
    case OAuthError::not_yet_valid:
      return "not_yet_valid";
    case OAuthError::issued_in_future:
      return "issued_in_future";
    case OAuthError::missing_claim:
      return "missing_claim";
    case OAuthError::wrong_nonce:
      return "wrong_nonce";
    case OAuthError::wrong_typ:
      return "wrong_typ";
    case OAuthError::wrong_htm:
      return "wrong_htm";
    case OAuthError::wrong_htu:
      return "wrong_htu";
    case OAuthError::stale_proof:
      return "stale_proof";
    case OAuthError::replayed_proof:
      return "replayed_proof";
    case OAuthError::replay_cache_full:
      return "replay_cache_full";
    case OAuthError::wrong_ath:
      return "wrong_ath";
    case OAuthError::wrong_proof_key:
      return "wrong_proof_key";
    case OAuthError::not_https:
      return "not_https";
    case OAuthError::address_refused:
      return "address_refused";
    case OAuthError::redirect_refused:
      return "redirect_refused";
    case OAuthError::fetch_failed:
      return "fetch_failed";
    case OAuthError::bad_client_metadata:
      return "bad_client_metadata";
  }
  return "unknown";
}

}  // namespace warden::oauth
