// Must not compile: a PostgreSQL header, then the guard every src/core file begins with
// (ctest core_guard_postgres_before_core expects the guard's #error).
#include "postgres.h"

#include "core/core_only.hpp"
