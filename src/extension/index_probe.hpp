#pragma once

// Reading rows of warden's own tables by an index key, without the executor. A decision reads
// a handful of rows by primary or unique key; through SPI each read paid for executor start-up
// (plan nodes, expression states, a subplan per EXISTS) that cost more than the reads. A probe
// opens the table and index (AccessShareLock to the end of the transaction, as the executor
// takes), scans under the active snapshot (what a read-only SPI statement would see) and
// copies the columns it is asked for. Columns are found by name and type-checked on every
// read, so a changed table definition fails loudly instead of being misread.
//
// As with Statement (spi.hpp), nothing is cleaned up by a destructor: call end() when done; if
// an error escapes, PostgreSQL releases the scan, pins and relations when the transaction aborts.

#include <optional>
#include <string>
#include <vector>

#include "extension/boundary.hpp"

namespace warden::pg {

class IndexProbe {
 public:
  // warden.<table> through its index warden.<index>.
  IndexProbe(const char* table, const char* index);
  IndexProbe(const IndexProbe&) = delete;
  IndexProbe& operator=(const IndexProbe&) = delete;

  // Starts a scan for the rows whose leading index columns equal `keys` (one Datum per key
  // column, in index order, of the index column's type). Ends any scan before it.
  void find(const std::vector<Datum>& keys);
  // Moves to the next row the snapshot sees; false when there is none.
  bool next();
  // find(keys) and next(): whether a row has that key (for a unique index: the row).
  bool find_one(const std::vector<Datum>& keys) {
    find(keys);
    return next();
  }
  // Ends the scan and closes the relations (their locks stay until the transaction ends).
  void end();

  // The current row's column, by name. Each checks the column's type and raises an error
  // naming table and column when it differs; nullopt for SQL NULL.
  std::optional<std::string> text(const char* column);
  std::optional<std::string> uuid(const char* column);
  // The 16 bytes of a uuid column, to compare with a uuid Datum without formatting it.
  bool uuid_equals(const char* column, Datum uuid);
  std::optional<TimestampTz> timestamptz(const char* column);
  std::optional<int64_t> integer(const char* column);  // integer or bigint
  std::optional<std::vector<uint8_t>> bytes(const char* column);
  // jsonb as its text form (what jsonb_out prints).
  std::optional<std::string> jsonb_text(const char* column);
  // A one-dimensional text[] or uuid[]; a NULL element is an error.
  std::optional<std::vector<std::string>> strings(const char* column);
  bool is_null(const char* column);

 private:
  static constexpr int kMaxKeys = 4;

  AttrNumber attribute(const char* name, Oid* type);
  // The column's value; its type must be `type` or (when given) `or_type`, and `*actual`
  // (when given) says which.
  Datum column(const char* name, Oid type, bool* is_null, Oid or_type = InvalidOid,
               Oid* actual = nullptr);

  const char* table_name_;
  const char* index_name_;
  Relation table_ = nullptr;
  Relation index_ = nullptr;
  IndexScanDesc scan_ = nullptr;
  TupleTableSlot* slot_ = nullptr;
  // The equality function of each key column (found once per probe, not once per find).
  RegProcedure equality_[kMaxKeys] = {};
  int key_columns_ = 0;
  bool on_row_ = false;
};

}  // namespace warden::pg
