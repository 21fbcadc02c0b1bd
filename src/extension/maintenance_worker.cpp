#include "extension/postgres_headers.hpp"

#include "extension/catalog_version.hpp"

extern "C" {
#include "access/xlog.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
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
int seal_interval_seconds();
}  // namespace warden::pg

namespace {

volatile sig_atomic_t terminate_requested = false;

void on_sigterm(SIGNAL_ARGS) {
  int saved_errno = errno;
  terminate_requested = true;
  SetLatch(MyLatch);
  errno = saved_errno;
}

// Runs `call` (a warden function returning something) in its own transaction.
void run_once(const char* call) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  SPI_connect();
  PushActiveSnapshot(GetTransactionSnapshot());
  // Only against SQL objects of this library's release: after a package upgrade, the database
  // keeps the old objects until ALTER EXTENSION warden UPDATE, and until then there is nothing
  // this worker may safely do.
  char query[512];
  snprintf(query, sizeof query,
           "SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'warden' "
           "AND extversion = '%s') THEN %s::text END",
           warden::pg::library_version(), call);
  pgstat_report_activity(STATE_RUNNING, query);
  int rc = SPI_execute(query, false, 1);
  if (rc != SPI_OK_SELECT) elog(WARNING, "warden maintenance: %s failed with %d", call, rc);
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  pgstat_report_activity(STATE_IDLE, nullptr);
}

}  // namespace

void warden_maintenance_main(Datum) {
  pqsignal(SIGTERM, on_sigterm);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(warden::pg::maintenance_database(), nullptr, 0);
  elog(LOG, "warden maintenance worker started for database \"%s\"",
       warden::pg::maintenance_database());
  // Full maintenance every maintenance_interval; a seal, when one is due, every seal_interval
  // in between (both settings may change on reload).
  TimestampTz next_maintenance = 0;
  while (!terminate_requested) {
    // A just-promoted server may still be read-only (a failover manager keeps it so until the
    // old primary is fenced): writing would fail and end the worker, so wait for the next round.
    bool writable = !RecoveryInProgress() && !DefaultXactReadOnly;
    if (!writable) {
      elog(DEBUG1, "warden maintenance: the server is read-only; waiting");
    } else if (GetCurrentTimestamp() >= next_maintenance) {
      run_once("warden.maintenance()");
      next_maintenance = TimestampTzPlusMilliseconds(
          GetCurrentTimestamp(),
          static_cast<int64>(warden::pg::maintenance_interval_seconds()) * 1000);
    } else {
      run_once("warden._seal_if_due()");
    }
    int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                       static_cast<long>(warden::pg::seal_interval_seconds()) * 1000L,
                       PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    (void)rc;
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
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
  // Never on a standby (it could not write): the postmaster starts it when recovery ends, so
  // on promotion the maintenance, seals and their announcements move to the new primary.
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = 60;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "warden");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "warden_maintenance_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "warden maintenance");
  snprintf(worker.bgw_type, BGW_MAXLEN, "warden maintenance");
  RegisterBackgroundWorker(&worker);
}

}  // namespace warden::pg
