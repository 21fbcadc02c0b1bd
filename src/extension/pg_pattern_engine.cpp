#include "extension/pg_pattern_engine.hpp"

#include "extension/boundary.hpp"

extern "C" {
#include "catalog/pg_collation.h"
#include "mb/pg_wchar.h"
#include "regex/regex.h"
}

namespace warden::pg {

namespace {

pg_wchar* to_wide(std::string_view s, int* len) {
  return pg_call([&] {
    auto* w = static_cast<pg_wchar*>(palloc((s.size() + 1) * sizeof(pg_wchar)));
    *len = pg_mb2wchar_with_len(s.data(), w, static_cast<int>(s.size()));
    return w;
  });
}

}  // namespace

std::optional<std::string> PgPatternEngine::compile_error(std::string_view pattern) {
  int len = 0;
  pg_wchar* wide = to_wide(pattern, &len);
  regex_t re;
  int rc = pg_call([&] {
    return pg_regcomp(&re, wide, static_cast<size_t>(len), REG_ADVANCED, C_COLLATION_OID);
  });
  if (rc == REG_OKAY) {
    pg_call([&] { pg_regfree(&re); });
    return std::nullopt;
  }
  char message[256];
  pg_regerror(rc, &re, message, sizeof message);
  return std::string("invalid regular expression: ") + message;
}

bool PgPatternEngine::matches(std::string_view pattern, std::string_view value) {
  // RE_compile_and_cache keeps recently used patterns compiled for the backend's lifetime;
  // patterns were validated when granted, so a compile error here is a real ERROR.
  int len = 0;
  pg_wchar* wide = to_wide(value, &len);
  return pg_call([&] {
    text* re_text = cstring_to_text_with_len(pattern.data(), static_cast<int>(pattern.size()));
    regex_t* re = RE_compile_and_cache(re_text, REG_ADVANCED, C_COLLATION_OID);
    int rc = pg_regexec(re, wide, static_cast<size_t>(len), 0, nullptr, 0, nullptr, 0);
    if (rc != REG_OKAY && rc != REG_NOMATCH) {
      char message[256];
      pg_regerror(rc, re, message, sizeof message);
      ereport(ERROR, (errcode(ERRCODE_INVALID_REGULAR_EXPRESSION),
                      errmsg("regular expression failed: %s", message)));
    }
    return rc == REG_OKAY;
  });
}

}  // namespace warden::pg
