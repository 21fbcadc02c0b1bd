#include "extension/boundary.hpp"

#include <cstring>
#include <new>

#include "core/error.hpp"
#include "extension/catalog_version.hpp"

namespace warden::pg {

const char* PgError::what() const noexcept {
  return data_ != nullptr && data_->message != nullptr ? data_->message : "PostgreSQL error";
}

void run_guarded(void (*fn)(void*), void* arg) {
  // Everything that must survive the longjmp lives in this frame as plain data.
  MemoryContext caller_context = CurrentMemoryContext;
  sigjmp_buf* saved_exception_stack = PG_exception_stack;
  ErrorContextCallback* saved_context_stack = error_context_stack;
  sigjmp_buf local_exception_stack;
  ErrorData* caught = nullptr;

  if (sigsetjmp(local_exception_stack, 0) == 0) {
    PG_exception_stack = &local_exception_stack;
    fn(arg);
    PG_exception_stack = saved_exception_stack;
    return;
  }
  PG_exception_stack = saved_exception_stack;
  error_context_stack = saved_context_stack;
  MemoryContextSwitchTo(caller_context);
  caught = CopyErrorData();
  FlushErrorState();
  throw PgError(caught);
}

namespace {

// What an escaping exception becomes; plain data only, so raising it after the catch block
// longjmps over nothing that needs a destructor.
struct PendingError {
  ErrorData* rethrow = nullptr;
  int sqlerrcode = 0;
  char* message = nullptr;
  char* detail = nullptr;
  char* hint = nullptr;
};

char* copy_or_null(const std::string& s) {
  return s.empty() ? nullptr : pstrdup(s.c_str());
}

int sqlstate_code(const std::string& s) {
  if (s.size() != 5) return ERRCODE_INTERNAL_ERROR;
  return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

// Fills `pending` from the exception in flight. Kept apart so that the try/catch frame in
// sql_entry holds nothing but the call.
void capture_current_exception(PendingError& pending) {
  try {
    throw;
  } catch (const PgError& e) {
    pending.rethrow = e.data();
  } catch (const warden::Error& e) {
    pending.sqlerrcode = sqlstate_code(e.sqlstate());
    pending.message = pstrdup(e.what());
    pending.detail = copy_or_null(e.detail());
    pending.hint = copy_or_null(e.hint());
  } catch (const std::bad_alloc&) {
    pending.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    pending.message = pstrdup("out of memory in warden");
  } catch (const std::exception& e) {
    pending.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    pending.message = psprintf("warden internal error: %s", e.what());
    pending.hint =
        pstrdup("This is a bug in warden; please report it with the statement that caused it.");
  } catch (...) {
    pending.sqlerrcode = ERRCODE_INTERNAL_ERROR;
    pending.message = pstrdup("warden internal error: unknown exception");
  }
}

}  // namespace

Datum sql_entry(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo)) {
  PendingError pending;
  try {
    require_catalog_version();
    return body(fcinfo);
  } catch (...) {
    capture_current_exception(pending);
  }
  // All C++ frames of the body are gone; it is now safe to longjmp.
  if (pending.rethrow != nullptr) ReThrowError(pending.rethrow);
  ereport(ERROR, (errcode(pending.sqlerrcode), errmsg_internal("%s", pending.message),
                  pending.detail ? errdetail_internal("%s", pending.detail) : 0,
                  pending.hint ? errhint("%s", pending.hint) : 0));
  pg_unreachable();
}

}  // namespace warden::pg
