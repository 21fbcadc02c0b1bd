#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <boost/asio/signal_set.hpp>

#include "frontend/db/audit_witness.hpp"
#include "frontend/approvals/approval_pages.hpp"
#include "frontend/console/console_pages.hpp"
#include "frontend/db/db_listener.hpp"
#include "frontend/mcp/gateway.hpp"
#include "frontend/net/http_server.hpp"
#include "frontend/net/loopback.hpp"
#include "frontend/net/tls_client.hpp"
#include "frontend/oauth/authorization_server.hpp"
#include "frontend/oauth/metadata.hpp"
#include "frontend/export/audit_export.hpp"
#include "frontend/options.hpp"
#include "frontend/pdp/decision_point.hpp"
#include "frontend/secret_command.hpp"
#include "frontend/ssf/set_transmitter.hpp"
#include "frontend/ssf/shared_signals.hpp"
#include "frontend/upstream/http_upstream.hpp"
#include "frontend/net/stdio_server.hpp"

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

// Opens the re-check connection (Decisions::recheck_through) before a kill needs it:
// connecting, preparing warden.dead_tokens and the server's first run of it took some 40 ms,
// all of it on the first kill's way to the calls it aborts. A failure is left to that kill.
awaitable<void> warm_recheck(Decisions& decisions) {
  try {
    co_await decisions.dead_in_flight({});
  } catch (const std::exception&) {
    co_return;
  }
}

// At SIGTERM, SIGINT or the end of stdin (the gateway already refuses new requests): waits
// until every open request is answered and every answered call's outcome is written, at most
// kDrain (a hung upstream, or an outcome retried while the database is away, could otherwise
// hold the exit for minutes).
awaitable<void> drain(Executor ex, const Gateway& gateway) {
  constexpr auto kDrain = std::chrono::seconds(5);
  // An answer leaves the gateway before its bytes leave the process (the HTTP response or the
  // stdout line is written next): this long more for them, within kDrain.
  constexpr auto kLastWrites = std::chrono::milliseconds(100);
  const auto until = std::chrono::steady_clock::now() + kDrain;
  auto done = [&] { return !gateway.work_pending(); };
  asio::steady_timer tick(ex);
  while (!done() && std::chrono::steady_clock::now() < until) {
    tick.expires_after(std::chrono::milliseconds(10));
    boost::system::error_code ec;
    co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  if (!done()) {
    std::cerr << "warden-mcp: exiting with " << gateway.requests_open()
              << " request(s) unanswered and " << gateway.outcomes_pending()
              << " call outcome(s) not written\n";
    co_return;
  }
  tick.expires_at(std::min(until, std::chrono::steady_clock::now() + kLastWrites));
  boost::system::error_code ec;
  co_await tick.async_wait(asio::redirect_error(use_awaitable, ec));
}

// What this host lets stdio upstreams run, and as whom. Said once at startup, so that an
// operator who sees stdio upstreams refused knows why.
StdioPolicy stdio_policy(const Options& options) {
  const char* path = std::getenv("PATH");
  StdioPolicy policy{std::nullopt, options.stdio_allow_file, std::nullopt,
                     resolver_on_path(path && *path ? path : "/usr/local/bin:/usr/bin:/bin")};
  if (options.stdio_allow_file.empty()) {
    std::cerr << "warden-mcp: no --stdio-allow FILE: every stdio upstream is refused (list the "
                 "commands this host may run in a file, one per line, and pass --stdio-allow "
                 "FILE)\n";
  } else {
    policy.allowlist = StdioAllowlist::read_file(options.stdio_allow_file, policy.resolve);
    std::cerr << "warden-mcp: " << policy.allowlist->size() << " stdio command(s) allowed by "
              << options.stdio_allow_file << "\n";
  }
  if (::geteuid() == 0) {
    policy.user = lookup_stdio_user(options.stdio_user.empty() ? "nobody" : options.stdio_user);
    std::cerr << "warden-mcp: stdio upstreams run as " << policy.user->name << "\n";
  } else if (!options.stdio_user.empty()) {
    throw std::invalid_argument("--stdio-user needs warden-mcp to run as root");
  }
  return policy;
}

// The connection caps, fitted under the open-file limit: descriptors are also needed for the
// database pool, the listener, upstream pipes and connections.
ServerLimits server_limits(const Options& options) {
  ServerLimits limits;
  limits.header_timeout = std::chrono::seconds(options.header_timeout_seconds);
  limits.body_timeout = std::chrono::seconds(options.body_timeout_seconds);
  limits.max_connections_per_address =
      static_cast<std::size_t>(options.max_connections_per_address);
  if (options.max_connections > 0) {
    limits.max_connections = static_cast<std::size_t>(options.max_connections);
  } else {
    constexpr rlim_t kReservedDescriptors = 64;
    struct rlimit files {};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
      rlim_t room = files.rlim_cur > 2 * kReservedDescriptors
                        ? files.rlim_cur - kReservedDescriptors
                        : files.rlim_cur / 2;
      limits.max_connections = std::min<std::size_t>(limits.max_connections, room);
    }
  }
  return limits;
}

int run(const Options& options) {
  StdioPolicy stdio = stdio_policy(options);
  // Outlives the io_context: connection frames destroyed with it still update the metrics.
  Metrics metrics;
  asio::io_context io;
  // Credentials minted for this gateway's calls name it as their issuer, so an upstream can
  // verify them from <issuer>/.well-known/openid-configuration (OIDC federation, issue 13).
  DbPool::Settings session_settings;
  if (!options.issuer.empty()) {
    session_settings.emplace_back("warden.credential_issuer",
                                  warden::oauth::normalize_issuer(options.issuer));
  }
  DbPool pool(io.get_executor(), options.db, static_cast<std::size_t>(options.pool_size),
              session_settings);
  pool.prepare_statements(options.prepared_statements);
  // One more connection, kept for the re-checks that abort calls in flight after a
  // revocation: with every pool connection busy deciding, a kill would otherwise wait its turn
  // behind them (bench/kill_latency). Named, like the listener, so that an operator (and a
  // test) can tell it in pg_stat_activity.
  session_settings.emplace_back("application_name", "warden-mcp recheck");
  DbPool recheck_pool(io.get_executor(), options.db, 1, std::move(session_settings));
  recheck_pool.prepare_statements(options.prepared_statements);
  Decisions decisions(pool);
  decisions.recheck_through(recheck_pool);
  decisions.batch_completions(static_cast<std::size_t>(options.completion_batch));
  decisions.linger_completions(std::chrono::milliseconds(options.completion_linger_ms));
  UpstreamSharing sharing;
  sharing.max_agents_per_upstream = static_cast<std::size_t>(options.upstream_agents_max);
  sharing.idle = std::chrono::seconds(options.upstream_idle_seconds);
  set_http_keep_alive({static_cast<std::size_t>(options.upstream_connections),
                       std::chrono::seconds(options.upstream_keepalive_seconds)});
  Upstreams upstreams(io.get_executor(), std::move(stdio), sharing);
  Gateway gateway(io.get_executor(), decisions, upstreams, metrics,
                  std::chrono::seconds(options.call_timeout_seconds));
  if (!options.bare_names.empty()) gateway.expose_bare(options.bare_names);
  // The first SIGTERM or SIGINT (or, in stdio mode, the end of stdin) shuts down gently: no
  // request starts any more, and the open ones get up to kDrain to be answered and their
  // outcomes written, so that a restart does not cut calls off or leave them out of the audit
  // trail. A second signal stops at once.
  bool shutting_down = false;
  auto shut_down = [&] {
    if (shutting_down) return;
    shutting_down = true;
    gateway.close();
    // Through drain even with nothing open: an answer already given may still be on its way
    // out (a stdout line queued, an HTTP response being written).
    if (gateway.work_pending()) {
      std::cerr << "warden-mcp: answering " << gateway.requests_open()
                << " open request(s) and writing " << gateway.outcomes_pending()
                << " call outcome(s) before exiting\n";
    }
    asio::co_spawn(io, drain(io.get_executor(), gateway),
                   [&](const std::exception_ptr&) { io.stop(); });
  };
  // The gateway's public base URL: approval URLs handed to agents start with it (without
  // --issuer: the listening address, known once bound).
  std::string public_base = options.issuer;
  std::optional<AuditWitness> witness;
  if (!options.witness_file.empty()) witness.emplace(options.witness_file);

  // On a "servers" notice, and on every (re)connect of the listener: nothing announced
  // meanwhile reached us.
  auto reload = [&] {
    asio::co_spawn(io, gateway.reload_upstreams(), asio::detached);
    asio::co_spawn(io, gateway.recheck_in_flight(), asio::detached);
    if (witness) asio::co_spawn(io, witness_seal(decisions, *witness, ""), asio::detached);
  };
  // On every (re)connect of the listener (never on a notice: any database login can send
  // those). The re-check connection is made anew first: whatever cut the listener off may
  // have left it waiting on a server that will never answer, and the re-checks must not wait
  // behind it.
  auto on_connected = [&] {
    recheck_pool.reset("the listener lost the database; the re-check connection is made anew");
    reload();
    asio::co_spawn(io, warm_recheck(decisions), asio::detached);
  };
  auto on_event = [&](const json& event) {
    // Not a string (anyone may NOTIFY): no kind, rather than an exception that would cost the
    // listener its connection.
    const auto found = event.find("kind");
    std::string kind = found != event.end() && found->is_string() ? found->get<std::string>() : "";
    if (kind == "servers") {
      reload();
    } else if (kind == "approval") {
      gateway.approvals_changed();
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
  asio::co_spawn(io, listen_for_events(io.get_executor(), options.db, on_event, on_connected),
                 asio::detached);

  // The audit export reads through a connection of its own role (warden_exporter).
  std::optional<DbPool> export_pool;
  std::optional<AuditExport> audit_export;
  if (!options.export_spec.empty() && options.command == "serve") {
    std::string cursor =
        options.export_cursor.empty() ? export_kind(options.export_spec) : options.export_cursor;
    export_pool.emplace(io.get_executor(),
                        options.export_db.empty() ? options.db : options.export_db, std::size_t{1});
    export_pool->prepare_statements(options.prepared_statements);
    auto sink = export_sink(options.export_spec, *export_pool, options.export_secret,
                            options.export_ca_file);
    audit_export.emplace(*export_pool, cursor, std::move(sink), metrics.export_of(cursor),
                         static_cast<std::size_t>(options.export_batch));
    asio::co_spawn(io, audit_export->run(), asio::detached);
    std::cerr << "warden-mcp: exporting the audit trail (" << options.export_spec << ", cursor "
              << cursor << ")\n";
  }

  // The Shared Signals transmitter reads and signs through the exporter's role too.
  std::optional<DbPool> ssf_pool;
  std::optional<warden::ssf::SetTransmitter> set_transmitter;
  if (options.ssf_transmit && options.command == "serve") {
    ssf_pool.emplace(io.get_executor(), options.export_db.empty() ? options.db : options.export_db,
                     std::size_t{1});
    ssf_pool->prepare_statements(options.prepared_statements);
    warden::oauth::FetchOptions push;
    push.allow_loopback = options.ssf_allow_http_loopback;
    push.allow_http_loopback = options.ssf_allow_http_loopback;
    push.allow_private = options.ssf_allow_private;
    set_transmitter.emplace(*ssf_pool, std::move(push), metrics.export_of("ssf"));
    asio::co_spawn(io, set_transmitter->run(), asio::detached);
    std::cerr << "warden-mcp: pushing Security Event Tokens to the SSF streams\n";
  }

  Sessions sessions;
  OAuthStore oauth_store(pool);
  std::optional<warden::oauth::AuthorizationServer> authorization_server;
  std::optional<HttpEndpoint> endpoint;
  ApprovalPages approval_pages(decisions);
  ConsolePages console(pool, gateway);
  std::optional<warden::pdp::DecisionPoint> decision_point;
  std::optional<warden::ssf::SharedSignals> shared_signals;
  if (options.command == "serve") {
    EndpointOptions endpoint_options;
    endpoint_options.allowed_origins = options.allowed_origins;
    if (is_loopback_host(options.listen_host)) {
      endpoint_options.allowed_hosts = options.allowed_hosts;
    }
    if (!options.agent_token_file.empty()) {
      endpoint_options.default_token = read_token_file(options.agent_token_file);
    }
    endpoint_options.metrics_allow_remote = options.metrics_allow_remote;
    endpoint_options.max_sessions_per_agent =
        static_cast<std::size_t>(options.max_sessions_per_agent);
    if (!options.metrics_token_file.empty()) {
      endpoint_options.metrics_token = read_token_file(options.metrics_token_file);
    }
    if (!options.issuer.empty()) {
      warden::oauth::AuthorizationServerOptions as_options;
      as_options.issuer = options.issuer;
      if (!options.idp.empty()) as_options.idp = options.idp;
      as_options.dpop_replay_capacity = static_cast<size_t>(options.dpop_replay_capacity);
      as_options.fetch.allow_loopback = options.oauth_allow_http_loopback;
      as_options.fetch.allow_http_loopback = options.oauth_allow_http_loopback;
      if (!options.oauth_ca_file.empty()) {
        as_options.fetch.tls = warden::mcp::client_tls_context_with_ca(options.oauth_ca_file);
      }
      authorization_server.emplace(oauth_store, std::move(as_options));
      endpoint_options.authorization_server = &*authorization_server;
      approval_pages.set_sign_in(&*authorization_server);
      console.set_sign_in(&*authorization_server);
      asio::co_spawn(io, authorization_server->start(), asio::detached);
      std::cerr << "warden-mcp: OAuth authorization server at " << authorization_server->issuer()
                << "\n";
    }
    endpoint_options.approval_pages = &approval_pages;
    endpoint_options.console = &console;
    if (!options.pep_token_file.empty()) {
      std::string pep_token = read_token_file(options.pep_token_file);
      if (pep_token.size() < 16) {
        throw std::invalid_argument(
            "--pep-token-file: the PEP token must be at least 16 characters");
      }
      decision_point.emplace(decisions, metrics, std::move(pep_token));
      endpoint_options.decision_point = &*decision_point;
      std::cerr << "warden-mcp: AuthZEN decision point at /access/v1/evaluation(s), Envoy "
                   "ext_authz at /ext_authz\n";
    }
    std::string ssf_token;
    if (!options.ssf_token_file.empty()) {
      ssf_token = read_token_file(options.ssf_token_file);
      if (ssf_token.size() < 16) {
        throw std::invalid_argument(
            "--ssf-token-file: the stream management token must be at least 16 characters");
      }
    }
    // The receiver fetches an IdP's JWKS again (an unknown kid) under the sign-in's policy.
    warden::oauth::FetchOptions idp_fetch;
    idp_fetch.allow_loopback = options.oauth_allow_http_loopback;
    idp_fetch.allow_http_loopback = options.oauth_allow_http_loopback;
    if (!options.oauth_ca_file.empty()) {
      idp_fetch.tls = warden::mcp::client_tls_context_with_ca(options.oauth_ca_file);
    }
    shared_signals.emplace(pool, std::move(ssf_token), options.ssf_receive, metrics, oauth_store,
                           std::move(idp_fetch));
    endpoint_options.shared_signals = &*shared_signals;
    endpoint.emplace(gateway, decisions, sessions, metrics, std::move(endpoint_options));
    unsigned short port = start_http_server(io, options.listen_host, options.listen_port, *endpoint,
                                            server_limits(options), metrics);
    if (public_base.empty()) {
      const bool v6 = options.listen_host.find(':') != std::string::npos;
      public_base = "http://" + (v6 ? "[" + options.listen_host + "]" : options.listen_host) + ":" +
                    std::to_string(port);
    }
  } else {
    start_stdio_server(io, gateway, decisions, read_token_file(options.token_file),
                       [&] { shut_down(); });
  }

  approval_pages.set_base(public_base);
  console.set_base(public_base);
  gateway.hold_approvals(std::chrono::seconds(options.approval_wait_seconds), public_base);

  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (shutting_down) return io.stop();  // the end of stdin began it: this is the second word
    shut_down();
    stop.async_wait([&](const boost::system::error_code& again, int) {
      if (!again) io.stop();
    });
  });
  io.run();
  upstreams.reload({});  // stops the upstream children
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Not dumpable: /proc/<pid>/environ, mem and fd of this process become root's, so another
  // process of the same user (a stdio upstream when we are not root) cannot read the database
  // password or vended secrets from them, nor attach a debugger. No core dumps either.
  ::prctl(PR_SET_DUMPABLE, 0);
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
    if (options.command == "verify-audit")
      return run_verify_audit(options.db, options.witness_file);
    if (options.command == "secret-put") {
      if (!options.secret_idp.empty()) return run_idp_secret_put(options.db, options.secret_idp);
      if (!options.secret_export.empty()) {
        return run_export_secret_put(options.db, options.secret_export);
      }
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
