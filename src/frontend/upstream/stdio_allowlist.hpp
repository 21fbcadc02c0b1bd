#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden::mcp {

// The program a command's first word names, as an absolute path with symlinks resolved, or
// nullopt when it names no executable file. A word without '/' is looked up in `search_path`
// (a PATH value); a word with '/' must be absolute. Injected into the allowlist so that its
// rules are tested without a filesystem.
using ProgramResolver = std::function<std::optional<std::string>(const std::string& word)>;
ProgramResolver resolver_on_path(std::string search_path);

// The stdio upstream commands the gateway host allows (--stdio-allow FILE). warden.servers
// is written by SQL; what runs on this host is decided here.
//
// File format, one entry per line:
//   # a comment (the whole line; '#' starts a comment only as the first non-blank character)
//   node /opt/mcp/server-everything/dist/index.js stdio
//   /usr/local/bin/tickets-mcp --read-only
// An entry is split into words exactly as a server's command is (split_command_words). A
// command is allowed when its program resolves to the same file as an entry's program and its
// next words equal the entry's remaining words: an entry is an argv prefix, so
// `/usr/local/bin/tickets-mcp` alone allows any arguments. Any malformed line or unknown
// program refuses the whole file (warden-mcp does not start).
class StdioAllowlist {
 public:
  // Throws std::invalid_argument naming the line and what is wrong with it.
  static StdioAllowlist parse(std::string_view text, const ProgramResolver& resolve);
  static StdioAllowlist read_file(const std::string& path, const ProgramResolver& resolve);

  struct Launch {
    std::string program;            // absolute path for execve
    std::vector<std::string> argv;  // argv[0] as the command wrote it
  };
  // What to execute for `command` when an entry allows it, else nullopt. Throws
  // std::invalid_argument when the command itself cannot be split into words.
  std::optional<Launch> admit(std::string_view command, const ProgramResolver& resolve) const;

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string program;              // resolved
    std::vector<std::string> prefix;  // the words after the program
  };
  std::vector<Entry> entries_;
};

}  // namespace warden::mcp
