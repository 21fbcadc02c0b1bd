#pragma once

#include <optional>
#include <string>
#include <vector>

namespace warden::mcp {

struct Options {
  std::string command;  // "serve", "stdio", "secret-put", "verify-audit", "version", "help"
  // The connection string: from --db (never with a password: argv is world-readable in
  // /proc), --db-file, or WARDEN_DB; empty leaves it all to libpq (PG* variables, PGPASSFILE).
  std::string db;
  std::string listen_host = "127.0.0.1";
  std::string listen_port = "8719";
  std::string token_file;        // stdio: the agent's token
  std::string agent_token_file;  // serve: token for requests without one (loopback only)
  std::string bare_names;        // the upstream whose tools and prompts keep their own names
  std::string witness_file;      // serve/stdio: keep audit seals here; verify-audit: read them
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  // 8, not the 4 of 0.1.0: more commits in flight share each WAL flush (the README's
  // paragraph on --pool has the figures).
  int pool_size = 8;
  int call_timeout_seconds = 60;         // an upstream call that takes longer is cancelled
  int approval_wait_seconds = 120;       // a call needing a person is held this long (0: never)
  std::string server;                    // secret put: the upstream server
  std::string secret_idp;                // secret put --idp: the identity provider instead
  std::string header = "Authorization";  // secret put: header the secret goes into
  std::string secret_template = "Bearer {secret}";
  std::string stdio_allow_file;  // the stdio commands this host may run; none without it
  std::string stdio_user;        // children run as this user (`nobody` when we are root)
  int header_timeout_seconds = 10;
  int upstream_agents_max = 16;        // agents with an instance of their own per upstream
  int upstream_idle_seconds = 300;     // an agent's unused upstream instance is shut down after
  int completion_batch = 64;           // call outcomes written in one transaction, at most
  int completion_linger_ms = 2;        // an outcome waits this long for a decision to carry it
  bool prepared_statements = true;     // off: every query parsed anew (a transaction pooler)
  int upstream_connections = 16;       // idle keep-alive connections per agent's HTTP upstream
  int upstream_keepalive_seconds = 4;  // and how long each is kept
  int body_timeout_seconds = 30;
  int max_connections = 0;                // 0: 1024, lowered to fit the open-file limit
  int max_connections_per_address = 512;  // high: a load balancer is one address
  bool metrics_allow_remote = false;
  std::string metrics_token_file;
  // The secret other gateways present to the AuthZEN / ext_authz decision point; off without.
  std::string pep_token_file;
  // The audit export (issue 17): --export ocsf-ndjson:FILE, read through --export-db (a role
  // in warden_exporter; the gateway's own role may not read the audit trail), its durable
  // cursor named --export-cursor (default: the kind).
  std::string export_spec;
  std::string export_db;
  std::string export_cursor;
  int export_batch = 500;  // events per delivery (and per fsync / cursor move)
  // The export secret a destination authenticates with (splunk-hec: the HEC token), stored with
  // `secret put --export NAME`.
  std::string export_secret = "splunk-hec";
  std::string secret_export;  // secret put --export NAME
  // --export-ca-file: also trust these CA certificates (PEM) for an https export destination
  // (otlp, splunk-hec), besides the system store; verification is never turned off.
  std::string export_ca_file;
  // Shared Signals (issue 17): --ssf-token-file opens stream management (/ssf/streams...) to
  // receivers presenting that bearer; --ssf-transmit pushes SETs to the streams (through
  // --export-db's role, warden_exporter); --ssf-allow-http-loopback lets pushes go to http on
  // loopback (tests), --ssf-allow-private to private addresses (a receiver on the company net).
  std::string ssf_token_file;
  bool ssf_transmit = false;
  bool ssf_receive = false;  // --ssf-receive: accept SETs at /ssf/receive
  bool ssf_allow_http_loopback = false;
  bool ssf_allow_private = false;
  // The OAuth 2.1 authorization server (issue 13): off without an issuer.
  std::string issuer;  // the gateway's public base URL (--issuer)
  std::string idp;     // --idp: the identity provider people sign in with; empty: the only one
  bool oauth_allow_http_loopback = false;  // tests: IdP and redirect URIs over http on loopback
  int max_sessions_per_agent = 256;        // per agent and person; the oldest ends beyond (0: none)
  int dpop_replay_capacity = 100'000;      // live DPoP proofs remembered (each is accepted once)
  std::string oauth_ca_file;  // also trust these CAs for IdP and client-metadata fetches
};

// Parses argv; throws std::invalid_argument with a message meant for the user.
Options parse_options(int argc, char** argv);
std::string usage();
// The first line of a token file, trimmed; throws std::runtime_error when unreadable or empty.
std::string read_token_file(const std::string& path);

}  // namespace warden::mcp
