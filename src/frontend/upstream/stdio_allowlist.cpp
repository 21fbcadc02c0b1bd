#include "frontend/upstream/stdio_allowlist.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "frontend/upstream/command_words.hpp"

namespace warden::mcp {

namespace {

std::optional<std::string> executable_file(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return std::nullopt;
  struct stat st {};
  if (::stat(resolved, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (::access(resolved, X_OK) != 0) return std::nullopt;
  return std::string(resolved);
}

}  // namespace

ProgramResolver resolver_on_path(std::string search_path) {
  return [search_path = std::move(search_path)](const std::string& word) {
    if (word.find('/') != std::string::npos) {
      // Relative paths would depend on the gateway's working directory.
      if (word.front() != '/') return std::optional<std::string>();
      return executable_file(word);
    }
    std::stringstream dirs(search_path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (dir.empty() || dir.front() != '/') continue;
      std::string candidate = dir;
      candidate.append("/").append(word);
      if (auto found = executable_file(candidate)) return found;
    }
    return std::optional<std::string>();
  };
}

StdioAllowlist StdioAllowlist::parse(std::string_view text, const ProgramResolver& resolve) {
  StdioAllowlist list;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    std::string where = "line " + std::to_string(number) + ": ";
    std::vector<std::string> words;
    try {
      words = split_command_words(line);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + e.what());
    }
    auto program = resolve(words.front());
    if (!program) {
      throw std::invalid_argument(where + "'" + words.front() +
                                  "' is not an executable file (give an absolute path or a "
                                  "program on PATH)");
    }
    list.entries_.push_back({*program, {words.begin() + 1, words.end()}});
  }
  return list;
}

StdioAllowlist StdioAllowlist::read_file(const std::string& path, const ProgramResolver& resolve) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read the stdio allowlist " + path);
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parse(text.str(), resolve);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("stdio allowlist " + path + ", " + e.what());
  }
}

std::optional<StdioAllowlist::Launch> StdioAllowlist::admit(std::string_view command,
                                                            const ProgramResolver& resolve) const {
  std::vector<std::string> argv = split_command_words(command);
  auto program = resolve(argv.front());
  if (!program) return std::nullopt;
  for (const auto& entry : entries_) {
    if (entry.program != *program || entry.prefix.size() > argv.size() - 1) continue;
    if (std::equal(entry.prefix.begin(), entry.prefix.end(), argv.begin() + 1)) {
      return Launch{*program, std::move(argv)};
    }
  }
  return std::nullopt;
}

}  // namespace warden::mcp
