#include "frontend/options.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "frontend/net/loopback.hpp"

namespace warden::mcp {

namespace {

int int_option(const std::string& flag, const std::string& value, int low, int high) {
  int n = 0;
  try {
    std::size_t used = 0;
    n = std::stoi(value, &used);
    if (used != value.size()) throw std::invalid_argument(value);
  } catch (const std::exception&) {
    throw std::invalid_argument(flag + " takes a number");
  }
  if (n < low || n > high) {
    throw std::invalid_argument(flag + " takes " + std::to_string(low) + ".." +
                                std::to_string(high));
  }
  return n;
}

// True when libpq would read a password out of the connection string itself.
bool has_password(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why = error ? error : "malformed";
    PQfreemem(error);
    throw std::invalid_argument("the connection string is not valid: " + why);
  }
  bool found = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == "password" && o->val != nullptr && *o->val != '\0') found = true;
  }
  PQconninfoFree(options);
  return found;
}

std::string read_db_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read --db-file " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::string conninfo = text.str();
  auto last = conninfo.find_last_not_of(" \t\r\n");
  conninfo.erase(last == std::string::npos ? 0 : last + 1);
  return conninfo;
}

}  // namespace

std::string usage() {
  return "usage:\n"
         "  warden-mcp serve [DB] [--listen HOST:PORT] [--allow-origin ORIGIN]...\n"
         "                   [--allow-host HOST[:PORT]]...   (Host values besides loopback ones,\n"
         "                   checked when listening on loopback)\n"
         "                   [--agent-token-file FILE] [--pool N (8)] [--call-timeout SECONDS "
         "(60)] "
         "[--bare-names SERVER]\n"
         "                   [STDIO] [--header-timeout SECONDS (10)] [--body-timeout SECONDS "
         "(30)]\n"
         "                   [--max-connections N (1024)] [--max-connections-per-address N (512)]\n"
         "                   [--max-sessions-per-agent N (256)]   (an agent's sessions for one\n"
         "                   person; beyond it the least recently used ends; 0: no limit)\n"
         "                   [--metrics-allow-remote] [--metrics-token-file FILE]\n"
         "                   [--issuer URL [--idp NAME] [--oauth-allow-http-loopback]\n"
         "                   [--oauth-ca-file PATH]]   (these two also with --ssf-receive)\n"
         "                   [--dpop-replay-capacity N (100000)]   (DPoP proofs remembered;\n"
         "                   with that many live, a new proof is refused)\n"
         "                   [--approval-wait SECONDS (120)]\n"
         "  --approval-wait SECONDS: hold a call that needs a person's approval this long\n"
         "                   (0: answer at once); the approval page is /approvals/ID under the\n"
         "                   --issuer URL (or the listening address)\n"
         "                   [--export ocsf-ndjson:FILE --export-db CONNINFO [--export-cursor "
         "NAME]\n"
         "                   [--export-batch N (500)] [--export-ca-file PATH]]\n"
         "  --export-ca-file PATH: also trust the CA certificates (PEM) in PATH for an https\n"
         "                   export destination (otlp:https://..., splunk-hec:https://...)\n"
         "                   [--ssf-receive] [--ssf-token-file FILE] [--ssf-transmit\n"
         "                   [--ssf-allow-private]\n"
         "                   [--ssf-allow-http-loopback]]   (Shared Signals: stream management\n"
         "                   for receivers presenting the token in FILE; push SETs to them)\n"
         "                   [--pep-token-file FILE]   (AuthZEN /access/v1/evaluation(s) and\n"
         "                   Envoy /ext_authz for gateways presenting the token in FILE)\n"
         "  --issuer URL: be the OAuth 2.1 authorization server of /mcp, URL being the gateway's\n"
         "                   public base URL; people sign in with the identity provider --idp\n"
         "                   (default: the only one in warden.identity_providers)\n"
         "  --oauth-ca-file PATH: also trust the CA certificates (PEM) in PATH, besides the\n"
         "                   system store, when fetching the IdP's documents and Client ID\n"
         "                   Metadata Documents (a company CA); upstream TLS is unaffected\n"
         "  warden-mcp stdio [DB] --token-file FILE [--bare-names SERVER] [STDIO]\n"
         "  --bare-names SERVER: that upstream's tools and prompts keep their own names (others\n"
         "                   stay SERVER__NAME); every call is still authorized and audited.\n"
         "  warden-mcp secret put [DB] --server NAME [--header H] [--template T]\n"
         "                   (reads the secret from standard input, seals it to the vault key)\n"
         "  warden-mcp secret put [DB] --idp NAME\n"
         "                   (the identity provider's client secret, read and sealed the same "
         "way)\n"
         "  warden-mcp secret put [DB] --export NAME\n"
         "                   (an export destination's secret, e.g. the Splunk HEC token used by\n"
         "                   --export splunk-hec:URL [--export-secret NAME (splunk-hec)])\n"
         "  warden-mcp serve|stdio ... --witness FILE   keep every audit seal in FILE "
         "(append-only)\n"
         "  warden-mcp serve|stdio ... [--upstream-agents-max N (16)] [--upstream-idle SECONDS "
         "(300)]\n"
         "                   each agent gets its own session (stdio: process) per upstream, up to "
         "N\n"
         "                   agents at once; an unused one is shut down after SECONDS\n"
         "  warden-mcp serve|stdio ... [--upstream-connections N (16)] [--upstream-keepalive "
         "SECONDS (4)]\n"
         "                   each agent's session with an HTTP upstream keeps up to N idle\n"
         "                   connections open for SECONDS (0: a new connection per request)\n"
         "  warden-mcp serve|stdio ... [--completion-batch N (64)]\n"
         "                   up to N call outcomes written in one transaction when they queue\n"
         "                   (1: a transaction each)\n"
         "  warden-mcp serve|stdio ... [--completion-linger-ms N (2)]\n"
         "                   a call's outcome waits up to N ms for the next decision to carry it\n"
         "                   in its transaction (one commit for both); 0: never carried\n"
         "  warden-mcp serve|stdio ... [--prepared-statements on|off (on)]\n"
         "                   off: every query is parsed anew (behind a pooler in transaction mode\n"
         "                   that cannot keep a connection's prepared statements)\n"
         "  warden-mcp verify-audit --db CONNINFO --witness FILE\n"
         "                   (names every event changed or missing since a witnessed seal)\n"
         "  warden-mcp --version\n"
         "DB: --db CONNINFO (no password in it: the command line is readable by every local\n"
         "    user), or --db-file FILE, or the environment: WARDEN_DB, or libpq's PGHOST, PGUSER,\n"
         "    PGDATABASE, PGPASSFILE... CONNINFO names a role that holds warden_proxy, e.g.\n"
         "    \"host=/run/pg dbname=warden user=gateway\".\n"
         "STDIO: --stdio-allow FILE (the stdio upstream commands this host may run; without it\n"
         "    none runs) [--stdio-user NAME (nobody when run as root)]\n";
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (argc < 2) throw std::invalid_argument("missing command");
  o.command = argv[1];
  if (o.command == "--version" || o.command == "version") {
    o.command = "version";
    return o;
  }
  if (o.command == "--help" || o.command == "-h" || o.command == "help") {
    o.command = "help";
    return o;
  }
  int first_flag = 2;
  if (o.command == "secret") {
    if (argc < 3 || std::string(argv[2]) != "put")
      throw std::invalid_argument("usage: warden-mcp secret put ...");
    o.command = "secret-put";
    first_flag = 3;
  }
  if (o.command != "serve" && o.command != "stdio" && o.command != "secret-put" &&
      o.command != "verify-audit") {
    throw std::invalid_argument("unknown command " + o.command);
  }
  bool gateway = o.command == "serve" || o.command == "stdio";
  std::string db_flag, db_file;
  for (int i = first_flag; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--metrics-allow-remote" && o.command == "serve") {
      o.metrics_allow_remote = true;
      continue;
    }
    if (flag == "--oauth-allow-http-loopback" && o.command == "serve") {
      o.oauth_allow_http_loopback = true;
      continue;
    }
    if (flag == "--ssf-receive" && o.command == "serve") {
      o.ssf_receive = true;
      continue;
    }
    if (flag == "--ssf-transmit" && o.command == "serve") {
      o.ssf_transmit = true;
      continue;
    }
    if (flag == "--ssf-allow-http-loopback" && o.command == "serve") {
      o.ssf_allow_http_loopback = true;
      continue;
    }
    if (flag == "--ssf-allow-private" && o.command == "serve") {
      o.ssf_allow_private = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--db") {
      db_flag = value;
    } else if (flag == "--db-file") {
      db_file = value;
    } else if (flag == "--listen" && o.command == "serve") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos || colon + 1 == value.size()) {
        throw std::invalid_argument("--listen takes HOST:PORT");
      }
      o.listen_host = value.substr(0, colon);
      o.listen_port = value.substr(colon + 1);
      if (o.listen_host.size() > 2 && o.listen_host.front() == '[') {
        o.listen_host = o.listen_host.substr(1, o.listen_host.size() - 2);
      }
    } else if (flag == "--allow-origin" && o.command == "serve") {
      o.allowed_origins.push_back(value);
    } else if (flag == "--allow-host" && o.command == "serve") {
      o.allowed_hosts.push_back(value);
    } else if (flag == "--agent-token-file" && o.command == "serve") {
      o.agent_token_file = value;
    } else if (flag == "--bare-names" && gateway) {
      o.bare_names = value;
    } else if (flag == "--witness" && o.command != "secret-put") {
      o.witness_file = value;
    } else if (flag == "--token-file" && o.command == "stdio") {
      o.token_file = value;
    } else if (flag == "--idp" && o.command == "secret-put") {
      o.secret_idp = value;
    } else if (flag == "--export" && o.command == "secret-put") {
      o.secret_export = value;
    } else if (flag == "--export-secret" && o.command == "serve") {
      o.export_secret = value;
    } else if (flag == "--export-ca-file" && o.command == "serve") {
      o.export_ca_file = value;
    } else if (flag == "--oauth-ca-file" && o.command == "serve") {
      o.oauth_ca_file = value;
    } else if (flag == "--max-sessions-per-agent" && o.command == "serve") {
      o.max_sessions_per_agent = int_option(flag, value, 0, 10'000'000);
    } else if (flag == "--dpop-replay-capacity" && o.command == "serve") {
      o.dpop_replay_capacity = int_option(flag, value, 1, 10'000'000);
    } else if (flag == "--server" && o.command == "secret-put") {
      o.server = value;
    } else if (flag == "--header" && o.command == "secret-put") {
      o.header = value;
    } else if (flag == "--template" && o.command == "secret-put") {
      o.secret_template = value;
    } else if (flag == "--call-timeout" && gateway) {
      // The upstream clients give up on their own after 300 s; this must come first.
      o.call_timeout_seconds = int_option(flag, value, 1, 290);
    } else if (flag == "--approval-wait" && gateway) {
      o.approval_wait_seconds = int_option(flag, value, 0, 3600);
    } else if (flag == "--pool" && gateway) {
      o.pool_size = int_option(flag, value, 1, 64);
    } else if (flag == "--stdio-allow" && gateway) {
      o.stdio_allow_file = value;
    } else if (flag == "--stdio-user" && gateway) {
      o.stdio_user = value;
    } else if (flag == "--upstream-agents-max" && o.command != "secret-put") {
      o.upstream_agents_max = int_option(flag, value, 1, 4096);
    } else if (flag == "--upstream-idle" && o.command != "secret-put") {
      o.upstream_idle_seconds = int_option(flag, value, 1, 86400);
    } else if (flag == "--completion-batch" && gateway) {
      o.completion_batch = int_option(flag, value, 1, 1024);
    } else if (flag == "--completion-linger-ms" && gateway) {
      o.completion_linger_ms = int_option(flag, value, 0, 1000);
    } else if (flag == "--prepared-statements" && gateway) {
      if (value != "on" && value != "off") {
        throw std::invalid_argument("--prepared-statements takes on or off");
      }
      o.prepared_statements = value == "on";
    } else if (flag == "--upstream-connections" && gateway) {
      o.upstream_connections = int_option(flag, value, 0, 1024);
    } else if (flag == "--upstream-keepalive" && gateway) {
      o.upstream_keepalive_seconds = int_option(flag, value, 1, 3600);
    } else if (flag == "--header-timeout" && o.command == "serve") {
      o.header_timeout_seconds = int_option(flag, value, 1, 300);
    } else if (flag == "--body-timeout" && o.command == "serve") {
      o.body_timeout_seconds = int_option(flag, value, 1, 3600);
    } else if (flag == "--max-connections" && o.command == "serve") {
      o.max_connections = int_option(flag, value, 1, 1000000);
    } else if (flag == "--max-connections-per-address" && o.command == "serve") {
      o.max_connections_per_address = int_option(flag, value, 1, 1000000);
    } else if (flag == "--metrics-token-file" && o.command == "serve") {
      o.metrics_token_file = value;
    } else if (flag == "--export" && o.command == "serve") {
      o.export_spec = value;
    } else if (flag == "--export-db" && o.command == "serve") {
      if (has_password(value)) {
        throw std::invalid_argument(
            "--export-db contains a password, which every local user can read in "
            "/proc/<pid>/cmdline; put it in a PGPASSFILE (~/.pgpass)");
      }
      o.export_db = value;
    } else if (flag == "--export-batch" && o.command == "serve") {
      o.export_batch = int_option(flag, value, 1, 10000);
    } else if (flag == "--export-cursor" && o.command == "serve") {
      o.export_cursor = value;
    } else if (flag == "--ssf-token-file" && o.command == "serve") {
      o.ssf_token_file = value;
    } else if (flag == "--pep-token-file" && o.command == "serve") {
      o.pep_token_file = value;
    } else if (flag == "--issuer" && o.command == "serve") {
      o.issuer = value;
    } else if (flag == "--idp" && o.command == "serve") {
      o.idp = value;
    } else {
      throw std::invalid_argument("unknown option " + flag + " for " + o.command);
    }
  }
  if (!db_flag.empty() && !db_file.empty()) {
    throw std::invalid_argument("give --db or --db-file, not both");
  }
  if (!db_flag.empty()) {
    if (has_password(db_flag)) {
      throw std::invalid_argument(
          "--db contains a password, which every local user can read in /proc/<pid>/cmdline; "
          "put the connection string in --db-file FILE (mode 0600) or WARDEN_DB, or the "
          "password in a PGPASSFILE (~/.pgpass)");
    }
    o.db = db_flag;
  } else if (!db_file.empty()) {
    o.db = read_db_file(db_file);
  } else if (const char* env = std::getenv("WARDEN_DB")) {
    o.db = env;
  }
  if (o.command == "secret-put" &&
      int{!o.server.empty()} + int{!o.secret_idp.empty()} + int{!o.secret_export.empty()} != 1) {
    throw std::invalid_argument(
        "secret put takes --server NAME, --idp NAME or --export NAME (one of them)");
  }
  if (o.command == "verify-audit" && o.witness_file.empty()) {
    throw std::invalid_argument("--witness FILE is required for verify-audit");
  }
  if (o.command == "stdio" && o.token_file.empty()) {
    throw std::invalid_argument("--token-file is required for stdio");
  }
  if (!o.issuer.empty()) {
    while (!o.issuer.empty() && o.issuer.back() == '/') o.issuer.pop_back();
    bool https = o.issuer.rfind("https://", 0) == 0;
    bool http = o.issuer.rfind("http://", 0) == 0;
    if (!https && !(http && o.oauth_allow_http_loopback)) {
      throw std::invalid_argument(
          "--issuer must be an https URL (http only with --oauth-allow-http-loopback)");
    }
    if (o.issuer.find_first_of("?#") != std::string::npos) {
      throw std::invalid_argument("--issuer takes a URL without query or fragment");
    }
  } else if (!o.idp.empty()) {
    throw std::invalid_argument("--idp needs --issuer");
  } else if ((o.oauth_allow_http_loopback || !o.oauth_ca_file.empty()) && !o.ssf_receive) {
    // Both are the policy for fetching an IdP's documents: the sign-in's, or the JWKS that
    // /ssf/receive fetches again for a SET whose kid it does not know.
    throw std::invalid_argument(
        "--oauth-allow-http-loopback and --oauth-ca-file need --issuer or --ssf-receive");
  }
  if (!o.agent_token_file.empty() && !is_loopback_host(o.listen_host)) {
    throw std::invalid_argument("--agent-token-file is allowed only with a loopback --listen");
  }
  return o;
}

std::string read_token_file(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) throw std::runtime_error("cannot read token file " + path);
  auto first = token.find_first_not_of(" \t\r");
  auto last = token.find_last_not_of(" \t\r");
  if (first == std::string::npos) throw std::runtime_error("token file " + path + " is empty");
  return token.substr(first, last - first + 1);
}

}  // namespace warden::mcp
