#include "frontend/db/audit_witness.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

namespace warden::mcp {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail_io(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::vector<std::string> read_witness_tokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the witness file " + path);
  std::vector<std::string> tokens;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    json record = json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("token") || !record["token"].is_string()) {
      std::cerr << "warden-mcp: " << path << ":" << number << " is not a witnessed seal; skipped\n";
      continue;
    }
    tokens.push_back(record["token"].get<std::string>());
  }
  return tokens;
}

AuditWitness::AuditWitness(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) fail_io("cannot open the witness file", path_);
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    json record = json::parse(line, nullptr, false);
    if (record.is_object() && record.contains("seal_id") && record["seal_id"].is_string()) {
      kept_.insert(record["seal_id"].get<std::string>());
    }
  }
}

AuditWitness::~AuditWitness() {
  if (fd_ >= 0) ::close(fd_);
}

void AuditWitness::keep(const std::string& seal_id, const std::string& token) {
  if (holds(seal_id)) return;
  std::string line = json{{"seal_id", seal_id}, {"token", token}}.dump() + "\n";
  // One write of a whole line with O_APPEND: a crash leaves at most a torn last line, which
  // read_witness_tokens skips.
  ssize_t written = ::write(fd_, line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) fail_io("cannot append to", path_);
  if (::fsync(fd_) != 0) fail_io("cannot sync", path_);
  kept_.insert(seal_id);
}

int run_verify_audit(const std::string& conninfo, const std::string& witness_path) {
  std::vector<std::string> tokens = read_witness_tokens(witness_path);
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to the database: " + why);
  }
  std::string array = json(tokens).dump();
  const char* values[] = {array.c_str()};
  PGresult* r = PQexecParams(conn,
                             "SELECT ok, events_checked, problems::text FROM "
                             "warden.verify_witnessed(ARRAY(SELECT "
                             "jsonb_array_elements_text($1::jsonb)))",
                             1, nullptr, values, nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    std::string why = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(conn);
    throw std::runtime_error("warden.verify_witnessed failed: " + why);
  }
  const bool ok = std::string(PQgetvalue(r, 0, 0)) == "t";
  const std::string checked = PQgetvalue(r, 0, 1);
  json problems = json::parse(PQgetvalue(r, 0, 2), nullptr, false);
  PQclear(r);
  PQfinish(conn);
  std::cout << (ok ? "ok" : "TAMPERED") << ": " << checked << " events checked against "
            << tokens.size() << " witnessed seals\n";
  if (problems.is_array()) {
    for (const auto& p : problems) std::cout << p.dump() << "\n";
  }
  return ok ? 0 : 1;
}

}  // namespace warden::mcp
