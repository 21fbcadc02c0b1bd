#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace warden::mcp {

// Splits a stdio upstream's command line (or a --stdio-allow entry) into the argv that
// warden-mcp passes to execve. No shell ever sees it, so nothing is expanded:
//   - spaces and tabs separate words;
//   - '...' is taken literally; "..." too, except that \" and \\ stand for " and \;
//   - outside quotes, a backslash takes the next character literally;
//   - shell syntax outside quotes ($ ` | & ; < > ( ) * ? [ ] { } ~ ! #) is refused rather
//     than silently passed on, so a command written for a shell fails loudly;
//   - a first word of the form NAME=value (a shell environment assignment) is refused.
// Throws std::invalid_argument saying what was refused and where.
std::vector<std::string> split_command_words(std::string_view line);

}  // namespace warden::mcp
