#include <gtest/gtest.h>

#include "frontend/net/loopback.hpp"

// Issue 11, finding 17: "is_loopback is a string prefix test". Loopback is decided on the
// parsed address; names other than the literal "localhost" never count.

namespace warden::mcp {
namespace {

TEST(Finding17IsLoopbackParsesAddresses, Ipv4LoopbackIsAllOf127Slash8) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.255.3.4"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
}

TEST(Finding17IsLoopbackParsesAddresses, NamesThatMerelyStartLikeLoopbackAreNot) {
  EXPECT_FALSE(is_loopback_host("127.evil.example"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.nip.io"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1 "));
  EXPECT_FALSE(is_loopback_host("127.1"));
  EXPECT_FALSE(is_loopback_host("localhost.evil.example"));
  EXPECT_FALSE(is_loopback_host("evil.localhost"));
  EXPECT_FALSE(is_loopback_host("localhost."));
  EXPECT_FALSE(is_loopback_host(""));
  EXPECT_FALSE(is_loopback_host("[]"));
}

TEST(Finding17IsLoopbackParsesAddresses, LocalhostOnlyAsTheLiteralName) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("LocalHost"));
}

TEST(Finding17IsLoopbackParsesAddresses, Ipv6LoopbackAndMappedIpv4) {
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("0:0:0:0:0:0:0:1"));
  EXPECT_TRUE(is_loopback_host("::ffff:127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("[::ffff:127.9.8.7]"));
  EXPECT_FALSE(is_loopback_host("::ffff:10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("::2"));
  EXPECT_FALSE(is_loopback_host("::1%lo"));
  EXPECT_FALSE(is_loopback_host("fe80::1"));
  EXPECT_FALSE(is_loopback_host("[::1"));
}

}  // namespace
}  // namespace warden::mcp
