#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "frontend/oauth/client_metadata.hpp"
#include "frontend/oauth/fetch_policy.hpp"

// Issue 13: what warden-mcp fetches for a Client ID Metadata Document or IdP discovery cannot
// be pointed at this machine, the cloud metadata service or the private network.

namespace warden::oauth {
namespace {

using nlohmann::json;

AddressClass classify(const char* literal) {
  auto address = mcp::parse_ip_address(literal);
  EXPECT_TRUE(address.has_value()) << literal;
  return address ? classify_address(*address) : AddressClass::global;
}

OAuthError url_refusal(const std::string& url, const FetchOptions& options = {}) {
  auto result = check_fetch_url(url, options);
  EXPECT_FALSE(result.ok()) << url;
  return result.ok() ? OAuthError::malformed : result.error();
}

TEST(OAuthFetchPolicy, RefusesTheAddressesOfTheIssue) {
  for (const char* host : {"127.0.0.1", "[::1]", "[::ffff:127.0.0.1]", "169.254.169.254",
                           "10.0.0.1", "[fd00::1]", "0.0.0.0"}) {
    EXPECT_EQ(url_refusal(std::string("https://") + host + "/client.json"),
              OAuthError::address_refused)
        << host;
  }
}

TEST(OAuthFetchPolicy, ClassifiesAddresses) {
  EXPECT_EQ(classify("127.0.0.1"), AddressClass::loopback);
  EXPECT_EQ(classify("127.200.0.1"), AddressClass::loopback);
  EXPECT_EQ(classify("::1"), AddressClass::loopback);
  EXPECT_EQ(classify("::ffff:127.0.0.1"), AddressClass::loopback);
  EXPECT_EQ(classify("169.254.169.254"), AddressClass::link_local);
  EXPECT_EQ(classify("::ffff:169.254.169.254"), AddressClass::link_local);
  EXPECT_EQ(classify("fe80::1"), AddressClass::link_local);
  EXPECT_EQ(classify("febf::1"), AddressClass::link_local);
  EXPECT_EQ(classify("10.0.0.1"), AddressClass::private_use);
  EXPECT_EQ(classify("172.16.0.1"), AddressClass::private_use);
  EXPECT_EQ(classify("172.31.255.255"), AddressClass::private_use);
  EXPECT_EQ(classify("172.32.0.1"), AddressClass::global);
  EXPECT_EQ(classify("192.168.1.1"), AddressClass::private_use);
  EXPECT_EQ(classify("100.64.0.1"), AddressClass::private_use);
  EXPECT_EQ(classify("fd00::1"), AddressClass::private_use);
  EXPECT_EQ(classify("fc00::1"), AddressClass::private_use);
  EXPECT_EQ(classify("0.0.0.0"), AddressClass::unspecified);
  EXPECT_EQ(classify("::"), AddressClass::unspecified);
  EXPECT_EQ(classify("224.0.0.1"), AddressClass::multicast);
  EXPECT_EQ(classify("ff02::1"), AddressClass::multicast);
  EXPECT_EQ(classify("255.255.255.255"), AddressClass::reserved);
  EXPECT_EQ(classify("192.0.2.1"), AddressClass::reserved);
  EXPECT_EQ(classify("::127.0.0.1"), AddressClass::reserved);           // IPv4-compatible
  EXPECT_EQ(classify("64:ff9b::a9fe:a9fe"), AddressClass::link_local);  // NAT64 of 169.254...
  EXPECT_EQ(classify("2002:7f00:1::"), AddressClass::loopback);         // 6to4 of 127.0.0.1
  EXPECT_EQ(classify("93.184.215.14"), AddressClass::global);
  EXPECT_EQ(classify("2606:2800:21f:cb07:6820:80da:af6b:8b2c"), AddressClass::global);
}

TEST(OAuthFetchPolicy, AllowOptionsOpenOnlyWhatTheyName) {
  FetchOptions loopback;
  loopback.allow_loopback = true;
  EXPECT_TRUE(check_fetch_address(*mcp::parse_ip_address("127.0.0.1"), loopback).ok());
  EXPECT_FALSE(check_fetch_address(*mcp::parse_ip_address("10.0.0.1"), loopback).ok());
  FetchOptions private_net;
  private_net.allow_private = true;
  EXPECT_TRUE(check_fetch_address(*mcp::parse_ip_address("10.0.0.1"), private_net).ok());
  EXPECT_FALSE(check_fetch_address(*mcp::parse_ip_address("::1"), private_net).ok());
  // Link-local (the metadata service), unspecified and multicast: never.
  FetchOptions everything{true, true, true, nullptr};
  for (const char* literal : {"169.254.169.254", "fe80::1", "0.0.0.0", "::", "224.0.0.1"}) {
    EXPECT_EQ(check_fetch_address(*mcp::parse_ip_address(literal), everything).error(),
              OAuthError::address_refused)
        << literal;
  }
}

TEST(OAuthFetchPolicy, HttpsOnlyExceptConfiguredLoopback) {
  EXPECT_TRUE(check_fetch_url("https://client.example/app.json", {}).ok());
  EXPECT_EQ(url_refusal("http://client.example/app.json"), OAuthError::not_https);
  EXPECT_EQ(url_refusal("ftp://client.example/app.json"), OAuthError::not_https);
  EXPECT_EQ(url_refusal("http://127.0.0.1:8080/app.json"), OAuthError::not_https);
  FetchOptions tests;
  tests.allow_http_loopback = true;
  tests.allow_loopback = true;
  EXPECT_TRUE(check_fetch_url("http://127.0.0.1:8080/app.json", tests).ok());
  EXPECT_TRUE(check_fetch_url("http://localhost:8080/app.json", tests).ok());
  EXPECT_EQ(url_refusal("http://client.example/app.json", tests), OAuthError::not_https);
  EXPECT_EQ(url_refusal("https://localhost/app.json"), OAuthError::address_refused);
}

TEST(OAuthFetchPolicy, PlainHttpAnywhereOnlyWhenAllowedAndStillNotToLinkLocal) {
  // An operator-named destination without a secret (an OTLP collector): http to a named host
  // or a private address, but the address rules still hold.
  FetchOptions collector;
  collector.allow_http = true;
  collector.allow_private = true;
  EXPECT_TRUE(check_fetch_url("http://collector.example:4318/v1/logs", collector).ok());
  EXPECT_TRUE(check_fetch_url("http://10.0.0.7:4318/v1/logs", collector).ok());
  EXPECT_EQ(url_refusal("http://169.254.169.254/latest", collector), OAuthError::address_refused);
  EXPECT_EQ(url_refusal("http://127.0.0.1:4318/v1/logs", collector), OAuthError::address_refused);
  EXPECT_EQ(url_refusal("http://collector.example:4318/v1/logs"), OAuthError::not_https);
}

TEST(OAuthFetchPolicy, UrlShapes) {
  EXPECT_EQ(url_refusal("https://client.example/app.json#x"), OAuthError::malformed);
  EXPECT_EQ(url_refusal("https://user:pw@client.example/app.json"), OAuthError::malformed);
  EXPECT_EQ(url_refusal("https://client.example\\@evil/app.json"), OAuthError::malformed);
  // Numeric hosts a resolver would read as 127.0.0.1.
  EXPECT_EQ(url_refusal("https://2130706433/app.json"), OAuthError::malformed);
  EXPECT_EQ(url_refusal("https://0x7f.1/app.json"), OAuthError::malformed);
  EXPECT_EQ(url_refusal("https://127.1/app.json"), OAuthError::malformed);
  auto url = check_fetch_url("https://client.example:8443/a/b.json?x=1", {});
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url.value().host, "client.example");
  EXPECT_EQ(url.value().port, "8443");
  EXPECT_EQ(url.value().target, "/a/b.json?x=1");
}

class OAuthClientMetadata : public ::testing::Test {
 protected:
  static constexpr const char* kUrl = "https://app.example/oauth/client.json";
  json document() const {
    return {{"client_id", kUrl},
            {"client_name", "Example Agent"},
            {"redirect_uris", {"https://app.example/callback", "http://127.0.0.1:33418/cb"}},
            {"token_endpoint_auth_method", "none"},
            {"grant_types", {"authorization_code", "refresh_token"}},
            {"response_types", {"code"}}};
  }
  std::string refusal(const json& doc, const char* url = kUrl) const {
    std::string reason;
    auto result = check_client_metadata_document(url, doc.dump(), &reason);
    EXPECT_FALSE(result.ok());
    if (!result.ok()) {
      EXPECT_EQ(result.error(), OAuthError::bad_client_metadata);
    }
    return reason;
  }
};

TEST_F(OAuthClientMetadata, AGoodDocument) {
  auto result = check_client_metadata_document(kUrl, document().dump());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value().client_id, kUrl);
  EXPECT_EQ(result.value().client_name, "Example Agent");
  EXPECT_EQ(result.value().redirect_uris.size(), 2u);
}

TEST_F(OAuthClientMetadata, ClientIdMustEqualTheUrl) {
  auto doc = document();
  doc["client_id"] = "https://app.example/other.json";
  EXPECT_EQ(refusal(doc), "client_id does not equal the document's URL");
  doc.erase("client_id");
  EXPECT_EQ(refusal(doc), "client_id does not equal the document's URL");
}

TEST_F(OAuthClientMetadata, ClientIdUrlShape) {
  EXPECT_TRUE(is_client_id_url(kUrl));
  EXPECT_FALSE(is_client_id_url("http://app.example/client.json"));
  EXPECT_FALSE(is_client_id_url("https://app.example/"));
  EXPECT_FALSE(is_client_id_url("https://app.example"));
  EXPECT_FALSE(is_client_id_url("https://app.example/client.json#f"));
  EXPECT_FALSE(is_client_id_url("https://app.example/a/../client.json"));
  EXPECT_FALSE(is_client_id_url("https://u@app.example/client.json"));
}

TEST_F(OAuthClientMetadata, RedirectUris) {
  for (const char* bad : {"http://app.example/cb", "https://app.example/cb#frag", "/cb",
                          "custom:/cb", "https://app.example/c b"}) {
    auto doc = document();
    doc["redirect_uris"] = {bad};
    EXPECT_EQ(refusal(doc),
              "a redirect URI is not absolute https or loopback http, or has a fragment")
        << bad;
  }
  auto doc = document();
  doc["redirect_uris"] = json::array();
  EXPECT_EQ(refusal(doc), "redirect_uris must list 1 to 20 URIs");
  doc["redirect_uris"] = "https://app.example/cb";
  EXPECT_EQ(refusal(doc), "redirect_uris must list 1 to 20 URIs");
  EXPECT_TRUE(is_acceptable_redirect_uri("http://[::1]:9/cb"));
  EXPECT_TRUE(is_acceptable_redirect_uri("http://localhost:9/cb"));
}

TEST_F(OAuthClientMetadata, ClientName) {
  auto doc = document();
  doc["client_name"] = std::string(kMaxClientNameLength, 'x');
  EXPECT_TRUE(check_client_metadata_document(kUrl, doc.dump()).ok());
  doc["client_name"] = std::string(kMaxClientNameLength + 1, 'x');
  EXPECT_EQ(refusal(doc), "client_name is too long");
  doc["client_name"] = "Agent\nAdmin approved";
  EXPECT_EQ(refusal(doc), "client_name has control characters");
  doc["client_name"] = 7;
  EXPECT_EQ(refusal(doc), "client_name is not a string");
}

TEST_F(OAuthClientMetadata, PublicCodeFlowClientsOnly) {
  auto doc = document();
  doc["client_secret"] = "s";
  EXPECT_EQ(refusal(doc), "a metadata document must not carry a client secret");
  doc = document();
  doc["token_endpoint_auth_method"] = "client_secret_basic";
  EXPECT_EQ(refusal(doc), "token_endpoint_auth_method must be none");
  doc = document();
  doc["grant_types"] = {"client_credentials"};
  EXPECT_EQ(refusal(doc), "grant_types may only be authorization_code and refresh_token");
  doc = document();
  doc["response_types"] = {"token"};
  EXPECT_EQ(refusal(doc), "response_types may only be code");
}

TEST_F(OAuthClientMetadata, NotJsonOrTooLarge) {
  std::string reason;
  EXPECT_FALSE(check_client_metadata_document(kUrl, "not json", &reason).ok());
  EXPECT_EQ(reason, "the document is not a JSON object");
  EXPECT_FALSE(
      check_client_metadata_document(kUrl, std::string(kMaxFetchedDocumentBytes + 1, ' '), &reason)
          .ok());
  EXPECT_EQ(reason, "the document is too large");
}

}  // namespace
}  // namespace warden::oauth
