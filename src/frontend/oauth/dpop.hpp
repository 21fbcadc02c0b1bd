#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "frontend/oauth/jwk_key.hpp"
#include "frontend/oauth/oauth_error.hpp"

namespace warden::oauth {

inline constexpr size_t kMaxDpopJtiLength = 256;
inline constexpr int64_t kDefaultDpopWindowSeconds = 60;

// Remembers DPoP proofs (the key's thumbprint and the proof's jti) until they expire, so each
// is accepted once. Memory is bounded: with `capacity` live entries a new proof is refused
// (replay_cache_full) rather than forgetting one that could then be replayed. One key may hold
// a tenth of the capacity, or 1000 proofs if that is more (at most the capacity), so that one
// client with a valid bound token cannot fill it for everyone. Thread-safe.
class DpopReplayCache {
 public:
  explicit DpopReplayCache(size_t capacity = 100'000);

  enum class Admit { fresh, replay, full };
  // Records (jkt, jti) as seen until `expires_at` (seconds since the epoch), first dropping
  // entries expired at `now`.
  Admit admit(std::string_view jkt, std::string_view jti, int64_t expires_at, int64_t now);
  // Forgets a proof admitted for a request that was then refused for good (a made-up code), so
  // that such requests do not fill the cache.
  void forget(std::string_view jkt, std::string_view jti);
  size_t size() const;
  size_t per_key_limit() const { return per_key_; }

 private:
  void expire(int64_t now);
  void drop(const std::string& key);  // with mutex_ held

  size_t capacity_;
  size_t per_key_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> seen_;  // SHA-256 of (jkt, jti) -> jkt
  std::unordered_map<std::string, size_t> per_jkt_;    // live entries per key
  std::multimap<int64_t, std::string> by_expiry_;      // expiry -> entry of seen_
};

// What the resource or token endpoint knows about the request a proof came with.
struct DpopRequest {
  std::string method;  // the HTTP method, compared exactly with htm
  std::string url;     // the request URL as the client addressed it (public scheme and host)
  int64_t now = 0;     // seconds since the epoch
  int64_t window = kDefaultDpopWindowSeconds;  // iat must be within now +- window
  std::optional<std::string> access_token;     // when one is presented, ath must match it
  std::optional<std::string> nonce;            // when the server issued one, nonce must match
  std::optional<std::string> bound_jkt;        // the token's cnf.jkt: the proof's key must match
  std::vector<JwsAlg> allowed_algs{std::begin(kAllJwsAlgs), std::end(kAllJwsAlgs)};
};

struct DpopProof {
  std::string jkt;  // RFC 7638 thumbprint of the proof's key (bind tokens to it: cnf.jkt)
  std::string jti;
  int64_t iat = 0;
  int64_t expires_at = 0;  // when the proof could no longer pass the iat check
  nlohmann::json jwk;
};

// RFC 9449 section 4.3: typ dpop+jwt, an allowed alg, a public jwk in the header that signs
// the proof, htm, htu (compared without query and fragment, scheme and host normalized), iat
// within the window, ath when an access token is presented, nonce when one is required, the
// key matching the token's binding, and the jti not seen before (recorded in `replay` only
// after everything else passed).
Outcome<DpopProof> verify_dpop_proof(std::string_view proof, const DpopRequest& request,
                                     DpopReplayCache& replay);

// The same checks without the replay check: for a proof whose access token is yet to be
// accepted. Record it with record_dpop_proof once it is, so that proofs carrying made-up tokens
// (anyone can sign a proof with a key of their own) never fill the replay cache.
Outcome<DpopProof> verify_dpop_proof_unrecorded(std::string_view proof, const DpopRequest& request);
// Accepts `proof` once: replayed_proof when it was recorded before, replay_cache_full when
// the cache is full.
Outcome<DpopProof> record_dpop_proof(DpopProof proof, DpopReplayCache& replay, int64_t now);

// The form htu is compared in: lower-case scheme and host, no default port, path without query
// or fragment ("/" when empty). nullopt for anything but an absolute http(s) URL.
std::optional<std::string> normalize_htu(std::string_view url);

}  // namespace warden::oauth
