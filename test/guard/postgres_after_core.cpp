// Must not compile: the guard every src/core file begins with, then a PostgreSQL header
// (ctest core_guard_postgres_after_core expects the poisoned-name error from postgres.h).
#include "core/core_only.hpp"

#include "postgres.h"
