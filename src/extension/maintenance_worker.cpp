#include "extension/postgres_headers.hpp"

extern "C" {
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

PGDLLEXPORT void warden_maintenance_main(Datum);
}

// The background worker that does warden's periodic work in one database: event partitions
// ahead, key rotation when due, retiring spent keys, sealing the audit trail. It only calls
// warden.maintenance(), so what it does is exactly what an operator can run by hand.
// Plain C style on purpose: an ERROR here longjmps straight out of the worker.

namespace warden::pg {
const char* maintenance_database();
int maintenance_interval_seconds();
}  // namespace warden::pg

namespace {

volatile sig_atomic_t terminate_requested = false;

void on_sigterm(SIGNAL_ARGS) {
  int saved_errno = errno;
  terminate_requested = true;
  SetLatch(MyLatch);
  errno = saved_errno;
}

void run_maintenance_once() {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  SPI_connect();
  PushActiveSnapshot(GetTransactionSnapshot());
  pgstat_report_activity(STATE_RUNNING, "SELECT warden.maintenance()");
  int rc = SPI_execute(
      "SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'warden') "
      "THEN warden.maintenance()::text END",
      false, 1);
  if (rc != SPI_OK_SELECT) elog(WARNING, "warden maintenance: query failed with %d", rc);
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
}

}  // namespace

void warden_maintenance_main(Datum) {
  pqsignal(SIGTERM, on_sigterm);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(warden::pg::maintenance_database(), nullptr, 0);
  elog(LOG, "warden maintenance worker started for database \"%s\"",
       warden::pg::maintenance_database());
  while (!terminate_requested) {
    run_maintenance_once();
    int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                       static_cast<long>(warden::pg::maintenance_interval_seconds()) * 1000L,
                       PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    (void)rc;
    CHECK_FOR_INTERRUPTS();
  }
  proc_exit(0);
}

namespace warden::pg {

void register_maintenance_worker() {
  const char* db = maintenance_database();
  if (db == nullptr || db[0] == '\0') return;
  BackgroundWorker worker;
  memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 60;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "warden");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "warden_maintenance_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "warden maintenance");
  snprintf(worker.bgw_type, BGW_MAXLEN, "warden maintenance");
  RegisterBackgroundWorker(&worker);
}

}  // namespace warden::pg
