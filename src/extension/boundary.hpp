#pragma once

// The one C++/PostgreSQL error boundary. Nothing else in warden knows about longjmp.
//
// Direction 1 (C++ -> PostgreSQL): every SQL-callable function body runs inside
// `sql_entry`. A C++ exception is caught, copied into plain palloc'd data, and the ERROR is
// raised only after every C++ frame of the body has been unwound.
//
// Direction 2 (PostgreSQL -> C++): a call into PostgreSQL that may ereport(ERROR) runs inside
// `pg_call`. The longjmp lands in a frame without C++ objects, the error is copied, the
// exception stack, error context stack and memory context are restored, and a C++
// `PgError` is thrown. If it reaches `sql_entry` the original error (SQLSTATE, message, detail,
// hint) is re-raised unchanged.
//
// Rule for callers: the callable given to `pg_call` calls PostgreSQL with plain data only; it
// must not own C++ objects with destructors, since a longjmp skips them.

#include "extension/postgres_headers.hpp"

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace warden::pg {

// A PostgreSQL error caught under C++. Holds a copy of the ErrorData in the memory context
// that was current when the call started.
class PgError : public std::exception {
 public:
  explicit PgError(ErrorData* data) : data_(data) {}
  const char* what() const noexcept override;
  ErrorData* data() const { return data_; }
  int sqlerrcode() const { return data_->sqlerrcode; }

 private:
  ErrorData* data_;
};

// Runs fn(arg) under sigsetjmp; throws PgError if PostgreSQL raised an ERROR.
void run_guarded(void (*fn)(void*), void* arg);

template <typename F>
auto pg_call(F&& f) -> std::invoke_result_t<F&> {
  using Result = std::invoke_result_t<F&>;
  if constexpr (std::is_void_v<Result>) {
    auto thunk = [](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); };
    run_guarded(thunk, &f);
  } else {
    static_assert(std::is_trivially_destructible_v<Result>,
                  "pg_call results cross a longjmp boundary and must be plain data");
    struct State {
      std::remove_reference_t<F>* fn;
      Result out;
    } state{&f, Result{}};
    auto thunk = [](void* p) {
      auto* s = static_cast<State*>(p);
      s->out = (*s->fn)();
    };
    run_guarded(thunk, &state);
    return state.out;
  }
}

// Runs body(fcinfo) and turns any escaping exception into a PostgreSQL ERROR.
Datum sql_entry(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo));

}  // namespace warden::pg

// Declares a SQL-callable function `name` whose C++ body is `name##_body`, routed through the
// boundary. Usage: WARDEN_SQL_FUNCTION(warden_add_agent) { ... return Datum; }
#define WARDEN_SQL_FUNCTION(name)                      \
  static Datum name##_body(FunctionCallInfo fcinfo);   \
  extern "C" {                                         \
  PG_FUNCTION_INFO_V1(name);                           \
  Datum name(PG_FUNCTION_ARGS) {                       \
    return warden::pg::sql_entry(fcinfo, name##_body); \
  }                                                    \
  }                                                    \
  static Datum name##_body([[maybe_unused]] FunctionCallInfo fcinfo)
