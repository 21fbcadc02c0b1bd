#pragma once

// Keys generated with OpenSSL for the OAuth tests, and a signer for compact JWS, so tests build
// tokens exactly as an IdP or a DPoP client would.

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base64url.hpp"
#include "frontend/oauth/jwk_key.hpp"

namespace warden::oauth::testing {

inline std::string b64(std::string_view text) {
  return base64url_encode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

inline std::string bn_b64(const BIGNUM* bn, int pad = 0) {
  std::vector<uint8_t> bytes(static_cast<size_t>(pad > 0 ? pad : BN_num_bytes(bn)));
  BN_bn2binpad(bn, bytes.data(), static_cast<int>(bytes.size()));
  return base64url_encode(bytes);
}

class TestKey {
 public:
  explicit TestKey(JwsAlg alg) : alg_(alg) {
    switch (alg) {
      case JwsAlg::rs256:
      case JwsAlg::ps256:
        key_.reset(EVP_RSA_gen(2048));
        break;
      case JwsAlg::es256:
        key_.reset(EVP_EC_gen("P-256"));
        break;
      case JwsAlg::eddsa:
        key_.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
        break;
    }
    if (!key_) throw std::runtime_error("key generation failed");
  }

  JwsAlg alg() const { return alg_; }
  EVP_PKEY* pkey() const { return key_.get(); }

  nlohmann::json public_jwk(const std::string& kid = {}) const {
    nlohmann::json jwk;
    if (alg_ == JwsAlg::rs256 || alg_ == JwsAlg::ps256) {
      jwk = {{"kty", "RSA"},
             {"n", bn_param(OSSL_PKEY_PARAM_RSA_N)},
             {"e", bn_param(OSSL_PKEY_PARAM_RSA_E)}};
    } else if (alg_ == JwsAlg::es256) {
      jwk = {{"kty", "EC"},
             {"crv", "P-256"},
             {"x", bn_param(OSSL_PKEY_PARAM_EC_PUB_X, 32)},
             {"y", bn_param(OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
    } else {
      std::vector<uint8_t> raw(32);
      size_t size = raw.size();
      EVP_PKEY_get_raw_public_key(key_.get(), raw.data(), &size);
      jwk = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(raw)}};
    }
    if (!kid.empty()) jwk["kid"] = kid;
    return jwk;
  }

  // The PEM of the public key: what an attacker signs HS256 tokens with.
  std::string public_pem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_PUBKEY(bio.get(), key_.get());
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  }

  std::vector<uint8_t> sign(std::string_view input) const { return sign_as(alg_, input); }

  // Signs with another algorithm of the same key type (an RSA key signs RS256 or PS256).
  std::vector<uint8_t> sign_as(JwsAlg alg, std::string_view input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = alg == JwsAlg::eddsa ? nullptr : EVP_sha256();
    EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key_.get());
    if (alg == JwsAlg::ps256) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t size = 0;
    auto data = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size());
    std::vector<uint8_t> sig(size);
    EVP_DigestSign(ctx.get(), sig.data(), &size, data, input.size());
    sig.resize(size);
    if (alg != JwsAlg::es256) return sig;
    // DER → JOSE's raw r||s.
    const unsigned char* p = sig.data();
    std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> ecdsa(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())), ECDSA_SIG_free);
    std::vector<uint8_t> raw(64);
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), raw.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), raw.data() + 32, 32);
    return raw;
  }

 private:
  std::string bn_param(const char* name, int pad = 0) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), name, &bn);
    std::string out = bn_b64(bn, pad);
    BN_free(bn);
    return out;
  }

  JwsAlg alg_;
  PublicKey key_;
};

// header.payload, as signed.
inline std::string signing_input(const nlohmann::json& header, const nlohmann::json& payload) {
  return b64(header.dump()) + "." + b64(payload.dump());
}

inline std::string make_jws(const nlohmann::json& header, const nlohmann::json& payload,
                            const TestKey& key) {
  std::string input = signing_input(header, payload);
  auto alg = jws_alg_from_name(header.value("alg", ""));
  return input + "." + base64url_encode(key.sign_as(alg ? *alg : key.alg(), input));
}

inline std::string make_hs256(const nlohmann::json& header, const nlohmann::json& payload,
                              std::string_view secret) {
  std::string input = signing_input(header, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &size);
  return input + "." + base64url_encode(std::span<const uint8_t>(mac, size));
}

// One key of each kind, generated once per test binary (RSA generation is slow).
inline const TestKey& rsa_key() {
  static const TestKey key(JwsAlg::rs256);
  return key;
}
inline const TestKey& rsa_key_2() {
  static const TestKey key(JwsAlg::rs256);
  return key;
}
inline const TestKey& ec_key() {
  static const TestKey key(JwsAlg::es256);
  return key;
}
inline const TestKey& ed_key() {
  static const TestKey key(JwsAlg::eddsa);
  return key;
}

}  // namespace warden::oauth::testing
