#include <signal.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include <boost/asio/signal_set.hpp>

#include "frontend/audit_witness.hpp"
#include "frontend/db_listener.hpp"
#include "frontend/gateway.hpp"
#include "frontend/http_server.hpp"
#include "frontend/options.hpp"
#include "frontend/secret_command.hpp"
#include "frontend/stdio_server.hpp"

using namespace warden::mcp;

namespace {

// Keeps one seal (empty id: the newest) in the witness file.
awaitable<void> witness_seal(Decisions& decisions, AuditWitness& witness, std::string seal_id) {
  if (!seal_id.empty() && witness.holds(seal_id)) co_return;
  try {
    auto seal = co_await decisions.seal_token(seal_id);
    if (seal) witness.keep(seal->first, seal->second);
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: cannot keep audit seal " << seal_id << ": " << e.what() << "\n";
  }
}

int run(const Options& options) {
  asio::io_context io;
  DbPool pool(io.get_executor(), options.db, static_cast<std::size_t>(options.pool_size));
  Decisions decisions(pool);
  Upstreams upstreams(io.get_executor());
  Metrics metrics;
  Gateway gateway(io.get_executor(), decisions, upstreams, metrics,
                  std::chrono::seconds(options.call_timeout_seconds));
  if (!options.bare_names.empty()) gateway.expose_bare(options.bare_names);
  std::optional<AuditWitness> witness;
  if (!options.witness_file.empty()) witness.emplace(options.witness_file);

  // Called on every (re)connect of the listener: nothing announced meanwhile reached us.
  auto reload = [&] {
    asio::co_spawn(io, gateway.reload_upstreams(), asio::detached);
    asio::co_spawn(io, gateway.recheck_in_flight(), asio::detached);
    if (witness) asio::co_spawn(io, witness_seal(decisions, *witness, ""), asio::detached);
  };
  auto on_event = [&](const json& event) {
    std::string kind = event.value("kind", "");
    if (kind == "servers") {
      reload();
    } else if (kind == "seal") {
      if (witness && event.contains("seal_id") && event["seal_id"].is_string()) {
        asio::co_spawn(io, witness_seal(decisions, *witness, event["seal_id"].get<std::string>()),
                       asio::detached);
      }
    } else {
      // Anyone who can log in to the database can NOTIFY warden_events, so a notification is
      // only a hint: the database says which calls in flight are really dead.
      asio::co_spawn(io, gateway.recheck_in_flight(), asio::detached);
    }
  };
  asio::co_spawn(io, listen_for_events(io.get_executor(), options.db, on_event, reload),
                 asio::detached);

  Sessions sessions;
  std::optional<HttpEndpoint> endpoint;
  if (options.command == "serve") {
    EndpointOptions endpoint_options{options.allowed_origins, std::nullopt, std::nullopt};
    if (is_loopback(options.listen_host)) endpoint_options.allowed_hosts = options.allowed_hosts;
    if (!options.agent_token_file.empty()) {
      endpoint_options.default_token = read_token_file(options.agent_token_file);
    }
    endpoint.emplace(gateway, decisions, sessions, metrics, std::move(endpoint_options));
    start_http_server(io, options.listen_host, options.listen_port, *endpoint);
  } else {
    start_stdio_server(io, gateway, decisions, read_token_file(options.token_file));
  }

  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  io.run();
  upstreams.reload({});  // stops the upstream children
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGCHLD, SIG_IGN);  // upstream children are reaped by the kernel
  try {
    Options options = parse_options(argc, argv);
    if (options.command == "version") {
      std::printf("warden-mcp %s\n", WARDEN_VERSION);
      return 0;
    }
    if (options.command == "help") {
      std::cout << usage();
      return 0;
    }
    if (options.command == "verify-audit") return run_verify_audit(options.db, options.witness_file);
    if (options.command == "secret-put") {
      return run_secret_put(options.db, options.server, options.header, options.secret_template);
    }
    return run(options);
  } catch (const std::invalid_argument& e) {
    std::cerr << "warden-mcp: " << e.what() << "\n" << usage();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "warden-mcp: " << e.what() << "\n";
    return 1;
  }
}
