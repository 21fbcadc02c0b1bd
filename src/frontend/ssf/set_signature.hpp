#pragma once

#include <nlohmann/json.hpp>

#include "frontend/oauth/jws.hpp"

namespace warden::ssf {

// What an issuer's keys ({"keys": [JWK...]}) say about a SET's signature. Only the keys with
// the SET's kid are tried (every key when the SET names none).
struct KeyMatch {
  bool verified = false;   // a tried key verifies the signature
  bool kid_known = false;  // some key was tried
};
KeyMatch match_set_key(const oauth::Jws& jws, const nlohmann::json& keys);

// True when the issuer's JWKS is worth fetching again: the SET names a kid none of the cached
// keys has (the provider may have rotated). A kid we know whose signature fails is a bad SET,
// not a reason to fetch (the rate limit is the caller's: oauth::JwksRefreshLimiter).
bool should_refetch_keys(const oauth::Jws& jws, const KeyMatch& match);

}  // namespace warden::ssf
