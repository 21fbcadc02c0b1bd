// The authorization server's socket-free helpers: form and query parsing, percent-encoding, Basic
// credentials, HTML escaping and the consent page's content and headers.
#include <gtest/gtest.h>

#include "frontend/oauth/consent_page.hpp"
#include "frontend/oauth/form.hpp"

namespace warden::oauth {
namespace {

TEST(OAuthForm, ParsesPlusAndPercentEscapes) {
  auto f = FormFields::parse("grant_type=authorization_code&code=a%2Bb+c&empty=&flag");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->get("grant_type"), "authorization_code");
  EXPECT_EQ(f->get("code"), "a+b c");
  EXPECT_TRUE(f->has("empty"));
  EXPECT_TRUE(f->has("flag"));
  EXPECT_EQ(f->get("missing"), "");
  EXPECT_FALSE(f->has_repeats());
}

TEST(OAuthForm, RefusesBadEscapesAndNotesRepeats) {
  EXPECT_FALSE(FormFields::parse("a=%4"));
  EXPECT_FALSE(FormFields::parse("a=%zz"));
  EXPECT_FALSE(FormFields::parse("a=%"));
  auto f = FormFields::parse("state=1&state=2");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->has_repeats());
}

TEST(OAuthForm, QueryOfATarget) {
  EXPECT_EQ(query_of("/authorize?a=1&b=2"), "a=1&b=2");
  EXPECT_EQ(query_of("/authorize"), "");
  EXPECT_EQ(query_of("/cb?x=1#frag"), "x=1");
}

TEST(OAuthForm, EncodesAllButUnreserved) {
  EXPECT_EQ(form_encode("a b&c=d/é~._-"), "a%20b%26c%3Dd%2F%C3%A9~._-");
  EXPECT_EQ(form_body({{"a", "1 2"}, {"b", "&"}}), "a=1%202&b=%26");
  EXPECT_EQ(with_query("https://app/cb", {{"code", "x"}}), "https://app/cb?code=x");
  EXPECT_EQ(with_query("https://app/cb?k=v", {{"code", "x"}}), "https://app/cb?k=v&code=x");
}

TEST(OAuthForm, Base64ForBasicCredentials) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("warden:s3cr%2Ft"), "d2FyZGVuOnMzY3IlMkZ0");
}

TEST(ConsentPage, EscapesEverythingItShows) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  nlohmann::json view = {{"request_id", "0d9e8f2a-0000-4000-8000-000000000000"},
                         {"consent_token", "tok\"en"},
                         {"agent", "<script>alert(1)</script>"},
                         {"agent_status", "active"},
                         {"client_id", "c"},
                         {"client_name", "Evil & Co"},
                         {"human", "alice@example.com"},
                         {"purpose", "p"},
                         {"tools", {"srv/<b>"}}};
  std::string html = consent_page(view);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("Evil &amp; Co"), std::string::npos);
  EXPECT_NE(html.find("value=\"tok&quot;en\""), std::string::npos);
  EXPECT_NE(html.find("<li>srv/&lt;b&gt;</li>"), std::string::npos);
  // Relative to ISSUER/callback, where the page is served: right also under an issuer path.
  EXPECT_NE(html.find("action=\"consent\""), std::string::npos);
  EXPECT_NE(html.find("id=\"approve\""), std::string::npos);
}

TEST(ConsentPage, PendingAgentIsSaid) {
  nlohmann::json view = {
      {"agent", "a"}, {"agent_status", "pending"}, {"tools", nlohmann::json::array()}};
  std::string html = consent_page(view);
  EXPECT_NE(html.find("id=\"pending\""), std::string::npos);
  EXPECT_NE(html.find("id=\"no-tools\""), std::string::npos);
  // It cannot be approved here: no button says it can.
  EXPECT_EQ(html.find("id=\"approve\""), std::string::npos);
  EXPECT_NE(html.find("id=\"deny\""), std::string::npos);
}

TEST(ConsentPage, HeadersForbidFramingScriptsAndCaching) {
  auto find = [](const std::vector<std::pair<std::string, std::string>>& headers,
                 const std::string& name) {
    for (const auto& [n, v] : headers) {
      if (n == name) return v;
    }
    return std::string();
  };
  auto headers = page_headers();
  EXPECT_EQ(find(headers, "Content-Security-Policy"),
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
            "base-uri 'none'");
  EXPECT_EQ(find(headers, "X-Frame-Options"), "DENY");
  EXPECT_EQ(find(headers, "Cache-Control"), "no-store");
  EXPECT_EQ(find(headers, "Referrer-Policy"), "no-referrer");
  auto consent = find(page_headers(true), "Content-Security-Policy");
  EXPECT_NE(consent.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_NE(consent.find("form-action 'self' https:"), std::string::npos);
}

}  // namespace
}  // namespace warden::oauth
