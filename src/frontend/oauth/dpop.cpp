#include "frontend/oauth/dpop.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "frontend/net/url.hpp"
#include "frontend/oauth/id_token.hpp"
#include "frontend/oauth/jws.hpp"

namespace warden::oauth {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 3986 6.2.2.1: percent-encodings compare case-insensitively; upper-case them.
std::string normalize_percent_encoding(std::string_view path) {
  std::string out(path);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '%' && i + 2 < out.size()) {
      out[i + 1] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i + 1])));
      out[i + 2] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i + 2])));
    }
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

const std::string* string_claim(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

}  // namespace

DpopReplayCache::DpopReplayCache(size_t capacity)
    : capacity_(capacity), per_key_(std::max(capacity / 10, std::min<size_t>(capacity, 1000))) {}

void DpopReplayCache::drop(const std::string& key) {
  auto it = seen_.find(key);
  if (it == seen_.end()) return;  // forgotten already
  auto count = per_jkt_.find(it->second);
  if (count != per_jkt_.end() && --count->second == 0) per_jkt_.erase(count);
  seen_.erase(it);
}

void DpopReplayCache::expire(int64_t now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    drop(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

namespace {

// Hashing bounds each entry's size whatever the jti's length; the separator keeps
// ("ab", "c") and ("a", "bc") apart (a thumbprint never contains a space).
std::string replay_key(std::string_view jkt, std::string_view jti) {
  std::string material;
  material.reserve(jkt.size() + 1 + jti.size());
  material.append(jkt).append(" ").append(jti);
  return sha256_base64url(material);
}

}  // namespace

void DpopReplayCache::forget(std::string_view jkt, std::string_view jti) {
  std::string key = replay_key(jkt, jti);
  std::lock_guard lock(mutex_);
  drop(key);  // its by_expiry_ entry finds nothing when it comes due
}

DpopReplayCache::Admit DpopReplayCache::admit(std::string_view jkt, std::string_view jti,
                                              int64_t expires_at, int64_t now) {
  std::string key = replay_key(jkt, jti);
  std::lock_guard lock(mutex_);
  expire(now);
  if (seen_.contains(key)) return Admit::replay;
  std::string thumbprint(jkt);
  size_t& of_key = per_jkt_[thumbprint];
  if (seen_.size() >= capacity_ || of_key >= per_key_) {
    if (of_key == 0) per_jkt_.erase(thumbprint);
    return Admit::full;
  }
  ++of_key;
  seen_.emplace(key, std::move(thumbprint));
  by_expiry_.emplace(expires_at, std::move(key));
  return Admit::fresh;
}

size_t DpopReplayCache::size() const {
  std::lock_guard lock(mutex_);
  return seen_.size();
}

std::optional<std::string> normalize_htu(std::string_view url) {
  url = url.substr(0, url.find('#'));
  url = url.substr(0, url.find('?'));
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string scheme = lower(url.substr(0, colon));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string rebuilt = scheme;
  rebuilt.append(url.substr(colon));
  auto parsed = mcp::parse_url(rebuilt);
  if (!parsed) return std::nullopt;
  unsigned port = 0;
  auto [end, ec] =
      std::from_chars(parsed->port.data(), parsed->port.data() + parsed->port.size(), port);
  if (ec != std::errc() || end != parsed->port.data() + parsed->port.size() || port > 65535) {
    return std::nullopt;
  }
  std::string host = lower(parsed->host);
  std::string out = scheme + "://";
  if (host.find(':') != std::string::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  if (port != (parsed->tls ? 443u : 80u)) out.append(":").append(std::to_string(port));
  out.append(normalize_percent_encoding(parsed->target));
  return out;
}

Outcome<DpopProof> verify_dpop_proof(std::string_view proof, const DpopRequest& request,
                                     DpopReplayCache& replay) {
  auto verified = verify_dpop_proof_unrecorded(proof, request);
  if (!verified) return verified.error();
  return record_dpop_proof(std::move(verified.value()), replay, request.now);
}

Outcome<DpopProof> record_dpop_proof(DpopProof proof, DpopReplayCache& replay, int64_t now) {
  switch (replay.admit(proof.jkt, proof.jti, proof.expires_at, now)) {
    case DpopReplayCache::Admit::fresh:
      return proof;
    case DpopReplayCache::Admit::replay:
      return OAuthError::replayed_proof;
    case DpopReplayCache::Admit::full:
      break;
  }
  return OAuthError::replay_cache_full;
}

Outcome<DpopProof> verify_dpop_proof_unrecorded(std::string_view proof,
                                                const DpopRequest& request) {
  auto jws = parse_jws(proof);
  if (!jws) return jws.error();
  const auto& header = jws.value().header;
  const auto& claims = jws.value().payload;
  const std::string* typ = string_claim(header, "typ");
  if (typ == nullptr || *typ != "dpop+jwt") return OAuthError::wrong_typ;
  auto jwk = header.find("jwk");
  if (jwk == header.end() || !jwk->is_object()) return OAuthError::malformed;
  if (auto status = verify_jws(jws.value(), *jwk, request.allowed_algs); !status) {
    return status.error();
  }

  const std::string* jti = string_claim(claims, "jti");
  const std::string* htm = string_claim(claims, "htm");
  const std::string* htu = string_claim(claims, "htu");
  auto iat = numeric_date(claims, "iat");
  if (jti == nullptr || jti->empty() || htm == nullptr || htu == nullptr || !iat) {
    return OAuthError::missing_claim;
  }
  if (jti->size() > kMaxDpopJtiLength) return OAuthError::malformed;
  if (*htm != request.method) return OAuthError::wrong_htm;
  auto proof_url = normalize_htu(*htu);
  auto request_url = normalize_htu(request.url);
  if (!proof_url || !request_url || *proof_url != *request_url) return OAuthError::wrong_htu;
  if (*iat > request.now + request.window || *iat < request.now - request.window) {
    return OAuthError::stale_proof;
  }
  if (request.access_token) {
    const std::string* ath = string_claim(claims, "ath");
    if (ath == nullptr || !equal_constant_time(*ath, sha256_base64url(*request.access_token))) {
      return OAuthError::wrong_ath;
    }
  }
  if (request.nonce) {
    const std::string* nonce = string_claim(claims, "nonce");
    if (nonce == nullptr || !equal_constant_time(*nonce, *request.nonce)) {
      return OAuthError::wrong_nonce;
    }
  }
  auto jkt = jwk_thumbprint(*jwk);
  if (!jkt) return OAuthError::unsupported_key;
  if (request.bound_jkt && !equal_constant_time(*jkt, *request.bound_jkt)) {
    return OAuthError::wrong_proof_key;
  }
  DpopProof out;
  out.jkt = std::move(*jkt);
  out.jti = *jti;
  out.iat = *iat;
  out.expires_at = *iat + request.window + 1;  // kept as long as the proof could pass the iat check
  out.jwk = *jwk;
  return out;
}

}  // namespace warden::oauth
