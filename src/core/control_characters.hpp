#pragma once

#include <string_view>

namespace warden {

// True if text contains a control character: C0 (U+0000..U+001F, NUL included), DEL (U+007F) or
// C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F). Also true if text is not well-formed UTF-8 (stray
// continuation bytes, truncated or overlong sequences, surrogates, code points above U+10FFFF):
// a lone byte 0x80..0x9F is a C1 control to Latin-1 readers such as terminals and log viewers,
// and names that reach those must not smuggle one in. Format characters (e.g. U+202E) are not
// controls and are not detected.
//
// Used to refuse server and tool names, and path_prefix paths, that could forge log lines,
// terminal output or audit text.
bool has_control_characters(std::string_view text);

}  // namespace warden
