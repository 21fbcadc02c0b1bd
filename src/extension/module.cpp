#include "extension/postgres_headers.hpp"

#include "extension/keys.hpp"

extern "C" {
#include "access/xlog.h"
PG_MODULE_MAGIC;
void _PG_init(void);  // NOLINT(bugprone-reserved-identifier): the name PostgreSQL calls
}

namespace {
char* root_key_file_setting = nullptr;
char* root_key_command_setting = nullptr;
int key_rotation_interval_setting = 86400;
char* maintenance_database_setting = nullptr;
int maintenance_interval_setting = 300;
int seal_interval_setting = 10;
int oauth_session_lifetime_setting = 86400;
char* credential_issuer_setting = nullptr;
emit_log_hook_type previous_emit_log_hook = nullptr;

// On a standby every writing warden function stops at PostgreSQL's read-only check (25006),
// whose message names an INSERT deep inside the function; the hint says what to do instead.
void hint_standby_writes(ErrorData* edata) {
  if (edata->elevel >= ERROR && edata->sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION &&
      edata->hint == nullptr && RecoveryInProgress()) {
    edata->hint = pstrdup(
        "This server is a standby: warden records decisions, revocations and changes on the "
        "primary only. Connect to the primary (libpq: list every node in host= and add "
        "target_session_attrs=read-write); read-only functions work here.");
  }
  if (previous_emit_log_hook != nullptr) previous_emit_log_hook(edata);
}

// An issuer is what upstreams match a minted JWT's "iss" against and fetch
// <issuer>/.well-known/openid-configuration from: a URL (or the 0.1.0 default "warden"),
// printable, short. Anything else would only produce credentials no verifier accepts.
bool check_credential_issuer(char** value, void** /*extra*/, GucSource /*source*/) {
  const char* v = *value;
  if (v == nullptr || *v == '\0') {
    GUC_check_errdetail("warden.credential_issuer must not be empty.");
    return false;
  }
  std::size_t n = 0;
  for (const char* c = v; *c != '\0'; ++c, ++n) {
    if (static_cast<unsigned char>(*c) <= 0x20 || *c == 0x7f) {
      GUC_check_errdetail(
          "warden.credential_issuer must not contain spaces or control characters.");
      return false;
    }
  }
  if (n > 512) {
    GUC_check_errdetail("warden.credential_issuer must be at most 512 bytes.");
    return false;
  }
  return true;
}
}  // namespace

namespace warden::pg {
const char* root_key_file() {
  return root_key_file_setting;
}
const char* root_key_command() {
  return root_key_command_setting;
}
int key_rotation_interval_seconds() {
  return key_rotation_interval_setting;
}
const char* credential_issuer() {
  return credential_issuer_setting;
}
const char* maintenance_database() {
  return maintenance_database_setting;
}
int maintenance_interval_seconds() {
  return maintenance_interval_setting;
}
int seal_interval_seconds() {
  return seal_interval_setting;
}
void register_maintenance_worker();
}  // namespace warden::pg

void _PG_init(void) {  // NOLINT(bugprone-reserved-identifier)
  // Both settings are superuser-only (invisible in SHOW and pg_settings to other roles) and
  // fixed at server start, because the key is read exactly once, before any session exists.
  DefineCustomStringVariable(
      "warden.root_key_file", "File holding warden's 32-byte root key (hex).",
      "Must be readable only by the server's OS user.", &root_key_file_setting, "", PGC_POSTMASTER,
      GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("warden.root_key_command",
                             "Command whose standard output is warden's root key (hex).",
                             "Used when warden.root_key_file is empty.", &root_key_command_setting,
                             "", PGC_POSTMASTER, GUC_SUPERUSER_ONLY, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("warden.key_rotation_interval",
                          "How long a signing key stays current before the next use rotates it.",
                          "warden.maintenance() also rotates keys that are due.",
                          &key_rotation_interval_setting, 86400, 60, 365 * 86400, PGC_SIGHUP,
                          GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "warden.maintenance_database",
      "Database in which a background worker runs warden.maintenance().",
      "Empty: no worker; run warden.maintenance() yourself (e.g. from cron).",
      &maintenance_database_setting, "", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("warden.maintenance_interval",
                          "Seconds between runs of warden.maintenance().", nullptr,
                          &maintenance_interval_setting, 300, 10, 86400, PGC_SIGHUP, GUC_UNIT_S,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "warden.seal_interval", "Seconds between seals of the audit trail while events are written.",
      "Tampering by a superuser is caught by a witness (warden-mcp --witness) "
      "for every event older than one seal interval.",
      &seal_interval_setting, 10, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "warden.oauth_session_lifetime",
      "How long a chain started by an OAuth sign-in lives: refresh tokens end with it.",
      "Each access token lives at most one hour within it; then the client signs in again.",
      &oauth_session_lifetime_setting, 86400, 3600, 86400, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr,
      nullptr);
  // Per session, not superuser-only: warden-mcp sets it to its --issuer on each connection, so
  // the minted JWT's "iss" is the URL whose /.well-known/jwks.json serves the verifying keys.
  // Only a role allowed to obtain credentials gets one minted in its session, and the issuer
  // does not change which key signs, so a session choosing its own "iss" gains nothing.
  DefineCustomStringVariable(
      "warden.credential_issuer", "The \"iss\" of minted JWT and PASETO credentials.",
      "Set it to the gateway's public URL (warden-mcp --issuer does so on its connections).",
      &credential_issuer_setting, "warden", PGC_USERSET, 0, check_credential_issuer, nullptr,
      nullptr);
  MarkGUCPrefixReserved("warden");

  previous_emit_log_hook = emit_log_hook;
  emit_log_hook = hint_standby_writes;

  if (process_shared_preload_libraries_in_progress) {
    warden::pg::load_root_key_at_startup();
    warden::pg::register_maintenance_worker();
  }
}
