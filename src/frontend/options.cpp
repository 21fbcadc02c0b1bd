#include "frontend/options.hpp"

#include <fstream>
#include <stdexcept>

namespace warden::mcp {

std::string usage() {
  return "usage:\n"
         "  warden-mcp serve --db CONNINFO [--listen HOST:PORT] [--allow-origin ORIGIN]...\n"
         "                   [--allow-host HOST[:PORT]]...   (Host values besides loopback ones,\n"
         "                   checked when listening on loopback)\n"
         "                   [--agent-token-file FILE] [--pool N] [--call-timeout SECONDS (60)] "
         "[--bare-names SERVER]\n"
         "  warden-mcp stdio --db CONNINFO --token-file FILE [--bare-names SERVER]\n"
         "  --bare-names SERVER: that upstream's tools and prompts keep their own names (others\n"
         "                   stay SERVER__NAME); every call is still authorized and audited.\n"
         "  warden-mcp secret put --db CONNINFO --server NAME [--header H] [--template T]\n"
         "                   (reads the secret from standard input, seals it to the vault key)\n"
         "  warden-mcp serve|stdio ... --witness FILE   keep every audit seal in FILE (append-only)\n"
         "  warden-mcp verify-audit --db CONNINFO --witness FILE\n"
         "                   (names every event changed or missing since a witnessed seal)\n"
         "  warden-mcp --version\n"
         "CONNINFO names a role that holds warden_proxy, e.g. \"host=/run/pg dbname=warden "
         "user=gateway\".\n";
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
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
  for (int i = first_flag; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    std::string value = argv[++i];
    if (flag == "--db") {
      o.db = value;
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
    } else if (flag == "--bare-names" && o.command != "secret-put") {
      o.bare_names = value;
    } else if (flag == "--witness" && o.command != "secret-put") {
      o.witness_file = value;
    } else if (flag == "--token-file" && o.command == "stdio") {
      o.token_file = value;
    } else if (flag == "--server" && o.command == "secret-put") {
      o.server = value;
    } else if (flag == "--header" && o.command == "secret-put") {
      o.header = value;
    } else if (flag == "--template" && o.command == "secret-put") {
      o.secret_template = value;
    } else if (flag == "--call-timeout" && (o.command == "serve" || o.command == "stdio")) {
      o.call_timeout_seconds = std::stoi(value);
      // The upstream clients give up on their own after 300 s; this must come first.
      if (o.call_timeout_seconds < 1 || o.call_timeout_seconds > 290) {
        throw std::invalid_argument("--call-timeout takes 1..290 seconds");
      }
    } else if (flag == "--pool") {
      o.pool_size = std::stoi(value);
      if (o.pool_size < 1 || o.pool_size > 64) throw std::invalid_argument("--pool takes 1..64");
    } else {
      throw std::invalid_argument("unknown option " + flag + " for " + o.command);
    }
  }
  if (o.db.empty()) throw std::invalid_argument("--db CONNINFO is required");
  if (o.command == "secret-put" && o.server.empty()) {
    throw std::invalid_argument("--server NAME is required for secret put");
  }
  if (o.command == "verify-audit" && o.witness_file.empty()) {
    throw std::invalid_argument("--witness FILE is required for verify-audit");
  }
  if (o.command == "stdio" && o.token_file.empty()) {
    throw std::invalid_argument("--token-file is required for stdio");
  }
  if (!o.agent_token_file.empty() && !is_loopback(o.listen_host)) {
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
