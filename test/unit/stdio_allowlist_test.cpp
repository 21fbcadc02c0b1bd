#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "frontend/upstream/command_words.hpp"
#include "frontend/upstream/stdio_allowlist.hpp"

// Issue 11, finding 6: "warden_admin gets a shell on the gateway host". A server's command is
// split into words by warden-mcp (no shell, no expansion) and runs only when the gateway
// host's allowlist admits it.

namespace warden::mcp {
namespace {

using Words = std::vector<std::string>;

// Programs as if installed: bare names on PATH, absolute paths as given, one symlink.
std::optional<std::string> fake_resolve(const std::string& word) {
  static const std::map<std::string, std::string> known = {
      {"node", "/usr/bin/node"},
      {"/usr/bin/node", "/usr/bin/node"},
      {"/usr/local/bin/node", "/usr/bin/node"},  // a symlink to the same program
      {"/opt/tickets/bin/tickets-mcp", "/opt/tickets/bin/tickets-mcp"},
      {"sh", "/usr/bin/dash"},
  };
  auto it = known.find(word);
  if (it == known.end()) return std::nullopt;
  return it->second;
}

TEST(Finding6StdioCommandWords, SplitsWithoutAShell) {
  EXPECT_EQ(split_command_words("node /srv/x.js stdio"), (Words{"node", "/srv/x.js", "stdio"}));
  EXPECT_EQ(split_command_words("  a\t b  "), (Words{"a", "b"}));
  EXPECT_EQ(split_command_words("a 'b c' \"d \\\"e\\\" \\\\\" f\\ g"),
            (Words{"a", "b c", "d \"e\" \\", "f g"}));
  EXPECT_EQ(split_command_words("a '' b"), (Words{"a", "", "b"}));
  EXPECT_EQ(split_command_words("a 'x'\"y\"z"), (Words{"a", "xyz"}));
  EXPECT_EQ(split_command_words("a '$HOME; rm -rf *'"), (Words{"a", "$HOME; rm -rf *"}));
  EXPECT_EQ(split_command_words("/usr/bin/env A=1 prog"), (Words{"/usr/bin/env", "A=1", "prog"}));
}

TEST(Finding6StdioCommandWords, RefusesShellSyntaxInsteadOfPassingItOn) {
  for (const char* line : {"node x.js; id",
                           "node x.js && id",
                           "node x.js | tee",
                           "node $(id)",
                           "node `id`",
                           "node ${HOME}",
                           "node x > /tmp/y",
                           "node < /etc/passwd",
                           "node *.js",
                           "node ~/x.js",
                           "node x.js # comment",
                           "node 'unterminated",
                           "node \"unterminated",
                           "node x\\",
                           "node \"a\\nb\"",
                           "FOO=bar node x.js",
                           "",
                           "   ",
                           "node\nid",
                           "'' x"}) {
    EXPECT_THROW(split_command_words(line), std::invalid_argument) << line;
  }
}

TEST(Finding6StdioAllowlist, ParsesLinesCommentsAndRefusesBadOnes) {
  auto list = StdioAllowlist::parse(
      "# comment\n\n   # indented comment\nnode /srv/everything/index.js stdio\r\n"
      "/opt/tickets/bin/tickets-mcp\n",
      fake_resolve);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_THROW(StdioAllowlist::parse("node x.js\nnode $(id)\n", fake_resolve),
               std::invalid_argument);
  EXPECT_THROW(StdioAllowlist::parse("no-such-program\n", fake_resolve), std::invalid_argument);
  try {
    StdioAllowlist::parse("node ok.js\n\nnode 'open\n", fake_resolve);
    FAIL() << "a malformed line was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  EXPECT_EQ(StdioAllowlist::parse("", fake_resolve).size(), 0u);
}

TEST(Finding6StdioAllowlist, AdmitsArgvPrefixesOfTheSameProgram) {
  auto list = StdioAllowlist::parse(
      "node /srv/everything/index.js stdio\n/opt/tickets/bin/tickets-mcp\n", fake_resolve);
  auto launch = list.admit("node /srv/everything/index.js stdio", fake_resolve);
  ASSERT_TRUE(launch);
  EXPECT_EQ(launch->program, "/usr/bin/node");
  EXPECT_EQ(launch->argv, (Words{"node", "/srv/everything/index.js", "stdio"}));
  EXPECT_TRUE(list.admit("/usr/local/bin/node /srv/everything/index.js stdio --x", fake_resolve));
  EXPECT_TRUE(list.admit("/opt/tickets/bin/tickets-mcp --read-only 'a b'", fake_resolve));

  EXPECT_FALSE(list.admit("node /srv/everything/index.js", fake_resolve));  // shorter than entry
  EXPECT_FALSE(list.admit("node /srv/other.js stdio", fake_resolve));
  EXPECT_FALSE(list.admit("node -e 'require(\"child_process\")'", fake_resolve));
  EXPECT_FALSE(list.admit("sh -c id", fake_resolve));
  EXPECT_FALSE(list.admit("unknown-program", fake_resolve));
  EXPECT_THROW(list.admit("node /srv/everything/index.js stdio; id", fake_resolve),
               std::invalid_argument);
}

TEST(Finding6StdioAllowlist, ResolvesProgramsOnPathToRealFiles) {
  auto resolve = resolver_on_path("/nonexistent:/bin:/usr/bin");
  auto sh = resolve("sh");
  ASSERT_TRUE(sh);
  EXPECT_EQ(sh->front(), '/');
  EXPECT_EQ(resolve("/bin/sh"), sh);
  EXPECT_FALSE(resolve("bin/sh"));  // relative paths depend on the working directory
  EXPECT_FALSE(resolve("no-such-program-anywhere"));
  EXPECT_FALSE(resolve("/etc/passwd"));  // not executable
  EXPECT_FALSE(resolve("/tmp"));         // not a file
}

}  // namespace
}  // namespace warden::mcp
