#pragma once

// src/core is plain C++ shared by the extension (PGXS) and warden-mcp (CMake): it must compile
// without PostgreSQL, so a PostgreSQL header may never reach a src/core translation unit. Every
// src/core/*.cpp includes this file first (CMake refuses to configure otherwise), and the
// compiler enforces the rule in both orders: a PostgreSQL header included before this one is
// caught by the check, one included after it by the poisoned names (postgres.h tests its
// guard POSTGRES_H first thing; c.h, through pg_config.h, defines PG_VERSION_NUM). Only .cpp
// files include it: extension files include core headers after postgres.h, legitimately.
#if defined(POSTGRES_H) || defined(C_H) || defined(PG_VERSION_NUM)
#error "src/core must not include PostgreSQL headers (found one before core/core_only.hpp)"
#endif
#pragma GCC poison POSTGRES_H PG_VERSION_NUM
