#include "frontend/upstream/command_words.hpp"

#include <stdexcept>

namespace warden::mcp {

namespace {

constexpr std::string_view kShellSyntax = "$`|&;<>()*?[]{}~!#";

[[noreturn]] void refuse(const std::string& what, std::size_t at) {
  throw std::invalid_argument(what + " at character " + std::to_string(at + 1) +
                              " (commands are split into words without a shell: quote it)");
}

bool is_control(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

}  // namespace

std::vector<std::string> split_command_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  std::size_t i = 0;
  while (i < line.size()) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    if (is_control(c)) refuse("a control character", i);
    in_word = true;
    if (c == '\'') {
      std::size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) refuse("an unterminated single quote", i);
      std::string_view quoted = line.substr(i + 1, close - i - 1);
      for (std::size_t k = 0; k < quoted.size(); ++k) {
        if (is_control(quoted[k])) refuse("a control character", i + 1 + k);
      }
      word.append(quoted);
      i = close + 1;
    } else if (c == '"') {
      std::size_t start = i++;
      for (;;) {
        if (i >= line.size()) refuse("an unterminated double quote", start);
        char q = line[i];
        if (q == '"') break;
        if (is_control(q)) refuse("a control character", i);
        if (q == '\\') {
          if (i + 1 >= line.size() || (line[i + 1] != '"' && line[i + 1] != '\\')) {
            refuse("a backslash inside double quotes that is not \\\" or \\\\", i);
          }
          q = line[++i];
        }
        word.push_back(q);
        ++i;
      }
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= line.size() || is_control(line[i + 1])) refuse("a trailing backslash", i);
      word.push_back(line[i + 1]);
      i += 2;
    } else if (kShellSyntax.find(c) != std::string_view::npos) {
      refuse(std::string("the shell character '") + c + "'", i);
    } else {
      if (c == '=' && words.empty()) {
        refuse("an environment assignment before the program (NAME=value)", i);
      }
      word.push_back(c);
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) throw std::invalid_argument("the command is empty");
  if (words.front().empty()) throw std::invalid_argument("the program name is empty");
  return words;
}

}  // namespace warden::mcp
