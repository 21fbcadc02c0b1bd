#pragma once

#include <set>
#include <string>
#include <vector>

namespace warden::mcp {

// An append-only file of audit seals kept outside the database (warden-mcp --witness FILE):
// one JSON line {"seal_id": …, "token": …} per seal, each written with O_APPEND and fsynced
// before it counts as kept. With it, `warden-mcp verify-audit --witness FILE` catches a
// superuser who rewrites or deletes events (even with the root key) for everything older than
// one seal interval.
class AuditWitness {
 public:
  // Opens (creating with mode 0600) the file; remembers the seals it already holds.
  explicit AuditWitness(std::string path);
  ~AuditWitness();
  AuditWitness(const AuditWitness&) = delete;
  AuditWitness& operator=(const AuditWitness&) = delete;

  // Appends the seal unless the file holds it already; throws std::runtime_error when the
  // line cannot be written and synced.
  void keep(const std::string& seal_id, const std::string& token);
  bool holds(const std::string& seal_id) const { return kept_.count(seal_id) != 0; }

 private:
  std::string path_;
  int fd_ = -1;
  std::set<std::string> kept_;
};

// The seal tokens in a witness file, in the order they were kept; throws when unreadable.
// Lines that are not witness records are reported on stderr and skipped.
std::vector<std::string> read_witness_tokens(const std::string& path);

// warden-mcp verify-audit --witness FILE --db CONNINFO: runs warden.verify_witnessed with
// every kept seal and prints the verdict; 0 when nothing was changed or lost, 1 otherwise.
int run_verify_audit(const std::string& conninfo, const std::string& witness_path);

}  // namespace warden::mcp
