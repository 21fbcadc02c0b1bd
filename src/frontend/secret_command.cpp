#include "frontend/secret_command.hpp"

#include <libpq-fe.h>
#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

// warden-mcp secret put: reads an upstream secret from standard input (without echo on a
// terminal), seals it on this side to the vault's public key, and stores the sealed box with
// warden.put_secret. The plaintext never reaches the database, its logs or any SQL text.

namespace warden::mcp {

namespace {

// Reads one secret: the whole of standard input, minus one trailing newline.
std::string read_secret_from_stdin() {
  const bool tty = isatty(STDIN_FILENO) != 0;
  termios saved{};
  if (tty) {
    std::fprintf(stderr, "secret (input hidden, end with Enter): ");
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string secret;
  if (tty) {
    std::getline(std::cin, secret);
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::fprintf(stderr, "\n");
  } else {
    secret.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  }
  return secret;
}

struct Connection {
  explicit Connection(const std::string& conninfo) : conn(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn);
      PQfinish(conn);
      conn = nullptr;
      throw std::runtime_error("cannot connect to the database: " + why);
    }
  }
  ~Connection() { PQfinish(conn); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  PGconn* conn;
};

// Runs a query with binary results; throws with the server's message (and hint) on error.
PGresult* exec(PGconn* conn, const char* sql, const std::vector<const char*>& values,
               const std::vector<int>& lengths, const std::vector<int>& formats) {
  PGresult* r = PQexecParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(),
                             lengths.data(), formats.data(), 1);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    std::string why = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error(why);
  }
  return r;
}

// The vault's public key, then the secret from standard input sealed to it.
std::vector<unsigned char> read_and_seal(PGconn* conn) {
  PGresult* key = exec(conn, "SELECT warden.vault_public_key()", {}, {}, {});
  if (PQntuples(key) != 1 || PQgetlength(key, 0, 0) != crypto_box_PUBLICKEYBYTES) {
    PQclear(key);
    throw std::runtime_error("the database returned no usable vault public key");
  }
  std::vector<unsigned char> public_key(crypto_box_PUBLICKEYBYTES);
  std::copy_n(reinterpret_cast<const unsigned char*>(PQgetvalue(key, 0, 0)), public_key.size(),
              public_key.begin());
  PQclear(key);

  std::string secret = read_secret_from_stdin();
  if (secret.empty()) throw std::runtime_error("the secret is empty; nothing was stored");
  std::vector<unsigned char> sealed(secret.size() + crypto_box_SEALBYTES);
  crypto_box_seal(sealed.data(), reinterpret_cast<const unsigned char*>(secret.data()),
                  secret.size(), public_key.data());
  sodium_memzero(secret.data(), secret.size());
  return sealed;
}

// The one text value of a result (the stored version), then clears it.
std::string single_text(PGresult* r) {
  std::string value(PQgetvalue(r, 0, 0), static_cast<size_t>(PQgetlength(r, 0, 0)));
  PQclear(r);
  return value;
}

}  // namespace

int run_secret_put(const std::string& conninfo, const std::string& server,
                   const std::string& header, const std::string& secret_template) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  Connection db(conninfo);
  std::vector<unsigned char> sealed = read_and_seal(db.conn);
  std::vector<const char*> values = {server.c_str(), reinterpret_cast<const char*>(sealed.data()),
                                     header.c_str(), secret_template.c_str()};
  std::vector<int> lengths = {0, static_cast<int>(sealed.size()), 0, 0};
  std::vector<int> formats = {0, 1, 0, 0};
  std::string version = single_text(exec(
      db.conn, "SELECT warden.put_secret($1, $2::bytea, $3, $4)::text", values, lengths, formats));
  std::printf("stored secret version %s for server %s\n", version.c_str(), server.c_str());
  return 0;
}

int run_idp_secret_put(const std::string& conninfo, const std::string& idp) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  Connection db(conninfo);
  std::vector<unsigned char> sealed = read_and_seal(db.conn);
  std::vector<const char*> values = {idp.c_str(), reinterpret_cast<const char*>(sealed.data())};
  std::vector<int> lengths = {0, static_cast<int>(sealed.size())};
  std::vector<int> formats = {0, 1};
  std::string version = single_text(
      exec(db.conn, "SELECT warden.put_idp_secret($1, $2::bytea)::text", values, lengths, formats));
  std::printf("stored client secret version %s for identity provider %s\n", version.c_str(),
              idp.c_str());
  return 0;
}

int run_export_secret_put(const std::string& conninfo, const std::string& name) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  Connection db(conninfo);
  std::vector<unsigned char> sealed = read_and_seal(db.conn);
  std::vector<const char*> values = {name.c_str(), reinterpret_cast<const char*>(sealed.data())};
  std::vector<int> lengths = {0, static_cast<int>(sealed.size())};
  std::vector<int> formats = {0, 1};
  PQclear(
      exec(db.conn, "SELECT warden.put_export_secret($1, $2::bytea)", values, lengths, formats));
  std::printf("stored export secret %s\n", name.c_str());
  return 0;
}

}  // namespace warden::mcp
