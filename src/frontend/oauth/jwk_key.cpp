#include "frontend/oauth/jwk_key.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <vector>

#include "core/base64url.hpp"

namespace warden::oauth {
namespace {

using Bytes = std::vector<uint8_t>;

struct BnFree {
  void operator()(BIGNUM* n) const noexcept { BN_free(n); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

// Members that only a private or symmetric JWK has (RFC 7518 section 6).
constexpr std::string_view kPrivateMembers[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

constexpr size_t kMinRsaModulusBytes = 256;   // 2048 bits
constexpr size_t kMaxRsaModulusBytes = 1024;  // 8192 bits

std::optional<Bytes> member_bytes(const nlohmann::json& jwk, const char* name, size_t max_bytes) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) return std::nullopt;
  const auto& text = it->get_ref<const std::string&>();
  if (text.size() > base64url_encoded_size(max_bytes)) return std::nullopt;
  return base64url_decode(text);
}

bool string_member_is(const nlohmann::json& jwk, const char* name, std::string_view expected) {
  auto it = jwk.find(name);
  return it != jwk.end() && it->is_string() && it->get_ref<const std::string&>() == expected;
}

PublicKey key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  PublicKey key(raw);
  // fromdata does not promise a full public-key validation (e.g. point on the curve).
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

Outcome<PublicKey> rsa_key(const nlohmann::json& jwk) {
  auto n = member_bytes(jwk, "n", kMaxRsaModulusBytes + 1);
  auto e = member_bytes(jwk, "e", 8);
  if (!n || !e || e->empty()) return OAuthError::malformed;
  auto first = std::find_if(n->begin(), n->end(), [](uint8_t b) { return b != 0; });
  size_t modulus_bytes = static_cast<size_t>(n->end() - first);
  if (modulus_bytes < kMinRsaModulusBytes || modulus_bytes > kMaxRsaModulusBytes) {
    return OAuthError::unsupported_key;
  }
  // e must be odd and greater than 1 (OpenSSL checks more when verifying).
  bool e_is_one =
      e->back() == 1 && std::all_of(e->begin(), e->end() - 1, [](uint8_t b) { return b == 0; });
  if ((e->back() & 1) == 0 || e_is_one) return OAuthError::unsupported_key;
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(n->data(), static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(e->data(), static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    return OAuthError::unsupported_key;
  }
  auto key = key_from_params("RSA", bld.get());
  if (!key) return OAuthError::unsupported_key;
  return key;
}

Outcome<PublicKey> p256_key(const nlohmann::json& jwk) {
  if (!string_member_is(jwk, "crv", "P-256")) return OAuthError::key_mismatch;
  auto x = member_bytes(jwk, "x", 32);
  auto y = member_bytes(jwk, "y", 32);
  if (!x || !y || x->size() != 32 || y->size() != 32) return OAuthError::malformed;
  std::array<uint8_t, 65> point{};
  point[0] = 0x04;  // uncompressed
  std::copy(x->begin(), x->end(), point.begin() + 1);
  std::copy(y->begin(), y->end(), point.begin() + 33);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return OAuthError::unsupported_key;
  }
  auto key = key_from_params("EC", bld.get());
  if (!key) return OAuthError::unsupported_key;
  return key;
}

Outcome<PublicKey> ed25519_key(const nlohmann::json& jwk) {
  if (!string_member_is(jwk, "crv", "Ed25519")) return OAuthError::key_mismatch;
  auto x = member_bytes(jwk, "x", 32);
  if (!x || x->size() != 32) return OAuthError::malformed;
  PublicKey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, x->data(), x->size()));
  if (!key) return OAuthError::unsupported_key;
  return key;
}

const char* required_kty(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::rs256:
    case JwsAlg::ps256:
      return "RSA";
    case JwsAlg::es256:
      return "EC";
    case JwsAlg::eddsa:
      return "OKP";
  }
  return "";
}

// The DER form OpenSSL verifies from JOSE's fixed-size r||s.
std::optional<Bytes> es256_der(std::span<const uint8_t> raw) {
  if (raw.size() != 64) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return std::nullopt;
  Bytes der(static_cast<size_t>(size));
  uint8_t* out = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return std::nullopt;
  return der;
}

int expected_base_id(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::rs256:
    case JwsAlg::ps256:
      return EVP_PKEY_RSA;
    case JwsAlg::es256:
      return EVP_PKEY_EC;
    case JwsAlg::eddsa:
      return EVP_PKEY_ED25519;
  }
  return EVP_PKEY_NONE;
}

}  // namespace

void PkeyFree::operator()(EVP_PKEY* key) const noexcept {
  EVP_PKEY_free(key);
}

std::optional<JwsAlg> jws_alg_from_name(std::string_view name) {
  for (JwsAlg alg : kAllJwsAlgs) {
    if (jws_alg_name(alg) == name) return alg;
  }
  return std::nullopt;
}

std::string_view jws_alg_name(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::rs256:
      return "RS256";
    case JwsAlg::ps256:
      return "PS256";
    case JwsAlg::es256:
      return "ES256";
    case JwsAlg::eddsa:
      return "EdDSA";
  }
  return "";
}

Outcome<PublicKey> public_key_from_jwk(const nlohmann::json& jwk, JwsAlg alg) {
  if (!jwk.is_object()) return OAuthError::malformed;
  for (std::string_view member : kPrivateMembers) {
    if (jwk.contains(member)) return OAuthError::private_key_in_jwk;
  }
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return OAuthError::malformed;
  if (*kty != required_kty(alg)) return OAuthError::key_mismatch;
  if (jwk.contains("alg") && !string_member_is(jwk, "alg", jws_alg_name(alg))) {
    return OAuthError::key_mismatch;
  }
  if (jwk.contains("use") && !string_member_is(jwk, "use", "sig")) return OAuthError::key_mismatch;
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array() || std::find(ops->begin(), ops->end(), "verify") == ops->end()) {
      return OAuthError::key_mismatch;
    }
  }
  switch (alg) {
    case JwsAlg::rs256:
    case JwsAlg::ps256:
      return rsa_key(jwk);
    case JwsAlg::es256:
      return p256_key(jwk);
    case JwsAlg::eddsa:
      return ed25519_key(jwk);
  }
  return OAuthError::unsupported_key;
}

bool verify_signature(JwsAlg alg, EVP_PKEY* key, std::string_view signing_input,
                      std::span<const uint8_t> signature) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != expected_base_id(alg)) return false;
  std::optional<Bytes> der;
  if (alg == JwsAlg::es256) {
    der = es256_der(signature);
    if (!der) return false;
    signature = *der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == JwsAlg::eddsa ? nullptr : EVP_sha256();
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key) != 1) return false;
  if (alg == JwsAlg::ps256 &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

std::optional<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return std::nullopt;
  auto kty = jwk.find("kty");
  if (kty == jwk.end() || !kty->is_string()) return std::nullopt;
  // Members are checked by a key import, so they are strict base64url or fixed names and the
  // JSON needs no escaping.
  std::string text;
  bool rsa_ok = *kty == "RSA" && (public_key_from_jwk(jwk, JwsAlg::rs256).ok() ||
                                  public_key_from_jwk(jwk, JwsAlg::ps256).ok());
  if (rsa_ok) {
    text = R"({"e":")" + jwk["e"].get<std::string>() + R"(","kty":"RSA","n":")" +
           jwk["n"].get<std::string>() + "\"}";
  } else if (*kty == "EC" && public_key_from_jwk(jwk, JwsAlg::es256).ok()) {
    text = R"({"crv":"P-256","kty":"EC","x":")" + jwk["x"].get<std::string>() + R"(","y":")" +
           jwk["y"].get<std::string>() + "\"}";
  } else if (*kty == "OKP" && public_key_from_jwk(jwk, JwsAlg::eddsa).ok()) {
    text = R"({"crv":"Ed25519","kty":"OKP","x":")" + jwk["x"].get<std::string>() + "\"}";
  } else {
    return std::nullopt;
  }
  return sha256_base64url(text);
}

std::string sha256_base64url(std::string_view text) {
  std::array<uint8_t, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    return {};
  }
  return base64url_encode(digest);
}

}  // namespace warden::oauth
