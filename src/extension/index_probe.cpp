#include "extension/index_probe.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "extension/spi.hpp"

namespace warden::pg {

namespace {

Oid warden_relation(const char* name) {
  return pg_call([&] {
    Oid schema = get_namespace_oid("warden", false);
    Oid relid = get_relname_relid(name, schema);
    if (!OidIsValid(relid)) {
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                      errmsg("warden: relation warden.%s does not exist", name),
                      errhint("The warden extension's objects are incomplete; reinstall or "
                              "update the extension.")));
    }
    return relid;
  });
}

}  // namespace

IndexProbe::IndexProbe(const char* table, const char* index)
    : table_name_(table), index_name_(index) {
  const Oid table_id = warden_relation(table);
  pg_call([&] { table_ = table_open(table_id, AccessShareLock); });
  // The index is looked up once its table is locked (no index of it can be dropped meanwhile),
  // and must be a usable btree of that table: a probe relies on btree equality scans that need
  // no recheck, and an index being built or dropped concurrently may be missing rows.
  const Oid index_id = warden_relation(index);
  pg_call([&] {
    index_ = index_open(index_id, AccessShareLock);
    if (index_->rd_index == nullptr || index_->rd_index->indrelid != table_id ||
        index_->rd_rel->relam != BTREE_AM_OID || !index_->rd_index->indisvalid ||
        !index_->rd_index->indisready || !index_->rd_index->indislive) {
      elog(ERROR, "warden: %s is not a valid btree index of warden.%s", index, table);
    }
    key_columns_ = std::min<int>(IndexRelationGetNumberOfKeyAttributes(index_), kMaxKeys);
    for (int i = 0; i < key_columns_; ++i) {
      // Equality under the index's own operator family (and, in find, its collation), so that
      // the search follows the order the index was built in.
      const Oid type = index_->rd_opcintype[i];
      const Oid op = get_opfamily_member(index_->rd_opfamily[i], type, type, BTEqualStrategyNumber);
      if (!OidIsValid(op)) elog(ERROR, "warden: no equality operator for index %s", index);
      equality_[i] = get_opcode(op);
    }
    slot_ = table_slot_create(table_, nullptr);
  });
}

void IndexProbe::find(const std::vector<Datum>& keys) {
  if (keys.empty() || keys.size() > static_cast<size_t>(kMaxKeys))
    throw std::logic_error("IndexProbe: 1 to 4 keys");
  const int nkeys = static_cast<int>(keys.size());
  const Datum* values = keys.data();
  pg_call([&] {
    if (nkeys > key_columns_) {
      elog(ERROR, "warden: index %s has fewer than %d key columns", index_name_, nkeys);
    }
    ScanKeyData scan_keys[kMaxKeys];
    for (int i = 0; i < nkeys; ++i) {
      ScanKeyEntryInitialize(&scan_keys[i], 0, static_cast<AttrNumber>(i + 1),
                             BTEqualStrategyNumber, InvalidOid, index_->rd_indcollation[i],
                             equality_[i], values[i]);
    }
    if (scan_ == nullptr) {
      // The statement's snapshot: what a read-only SPI statement would see.
      if (!ActiveSnapshotSet()) elog(ERROR, "warden: an index probe needs an active snapshot");
      scan_ = index_beginscan(table_, index_, GetActiveSnapshot(), nkeys, 0);
    } else if (scan_->numberOfKeys != nkeys) {
      // index_rescan reuses the scan's key array, sized when the scan began.
      elog(ERROR, "warden: index probe on %s rescanned with another number of keys", index_name_);
    }
    index_rescan(scan_, scan_keys, nkeys, nullptr, 0);
  });
  on_row_ = false;
}

bool IndexProbe::next() {
  if (scan_ == nullptr) throw std::logic_error("IndexProbe::next before find");
  on_row_ = pg_call([&] { return index_getnext_slot(scan_, ForwardScanDirection, slot_); });
  return on_row_;
}

void IndexProbe::end() {
  pg_call([&] {
    if (scan_ != nullptr) index_endscan(scan_);
    if (slot_ != nullptr) ExecDropSingleTupleTableSlot(slot_);
    if (index_ != nullptr) index_close(index_, NoLock);
    if (table_ != nullptr) table_close(table_, NoLock);
  });
  scan_ = nullptr;
  slot_ = nullptr;
  index_ = nullptr;
  table_ = nullptr;
  on_row_ = false;
}

// The 1-based number and type of the current table's column `name`.
AttrNumber IndexProbe::attribute(const char* name, Oid* type) {
  if (!on_row_) throw std::logic_error("IndexProbe: no current row");
  return pg_call([&] {
    TupleDesc desc = RelationGetDescr(table_);
    for (int i = 0; i < desc->natts; ++i) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (att->attisdropped || strcmp(NameStr(att->attname), name) != 0) continue;
      *type = att->atttypid;
      return static_cast<AttrNumber>(i + 1);
    }
    elog(ERROR, "warden: warden.%s has no column %s", table_name_, name);
    return AttrNumber(0);
  });
}

Datum IndexProbe::column(const char* name, Oid type, bool* is_null, Oid or_type, Oid* actual) {
  Oid found = InvalidOid;
  const AttrNumber n = attribute(name, &found);
  if (actual != nullptr) *actual = found;
  return pg_call([&] {
    if (found != type && (or_type == InvalidOid || found != or_type)) {
      elog(ERROR, "warden: column %s of warden.%s is not of the type a decision reads", name,
           table_name_);
    }
    return slot_getattr(slot_, n, is_null);
  });
}

bool IndexProbe::is_null(const char* name) {
  Oid type = InvalidOid;
  const AttrNumber n = attribute(name, &type);
  return pg_call([&] { return slot_attisnull(slot_, n); });
}

std::optional<std::string> IndexProbe::text(const char* name) {
  bool null = false;
  Datum d = column(name, TEXTOID, &null);
  if (null) return std::nullopt;
  return text_string(d);
}

std::optional<std::string> IndexProbe::uuid(const char* name) {
  bool null = false;
  Datum d = column(name, UUIDOID, &null);
  if (null) return std::nullopt;
  return uuid_string(d);
}

bool IndexProbe::uuid_equals(const char* name, Datum uuid) {
  bool null = false;
  Datum d = column(name, UUIDOID, &null);
  return !null && memcmp(DatumGetUUIDP(d)->data, DatumGetUUIDP(uuid)->data, UUID_LEN) == 0;
}

std::optional<TimestampTz> IndexProbe::timestamptz(const char* name) {
  bool null = false;
  Datum d = column(name, TIMESTAMPTZOID, &null);
  if (null) return std::nullopt;
  return DatumGetTimestampTz(d);
}

std::optional<int64_t> IndexProbe::integer(const char* name) {
  Oid type = InvalidOid;
  bool null = false;
  Datum d = column(name, INT4OID, &null, INT8OID, &type);
  if (null) return std::nullopt;
  return type == INT8OID ? DatumGetInt64(d) : DatumGetInt32(d);
}

std::optional<std::vector<uint8_t>> IndexProbe::bytes(const char* name) {
  bool null = false;
  Datum d = column(name, BYTEAOID, &null);
  if (null) return std::nullopt;
  bytea* b = pg_call([&] { return DatumGetByteaPP(d); });
  const auto* p = reinterpret_cast<const uint8_t*>(VARDATA_ANY(b));
  return std::vector<uint8_t>(p, p + VARSIZE_ANY_EXHDR(b));
}

std::optional<std::string> IndexProbe::jsonb_text(const char* name) {
  bool null = false;
  Datum d = column(name, JSONBOID, &null);
  if (null) return std::nullopt;
  const char* s = pg_call([&] {
    Jsonb* jb = DatumGetJsonbP(d);
    return JsonbToCString(nullptr, &jb->root, static_cast<int>(VARSIZE(jb)));
  });
  return std::string(s);
}

std::optional<std::vector<std::string>> IndexProbe::strings(const char* name) {
  bool null = false;
  Datum d = column(name, TEXTARRAYOID, &null, UUIDARRAYOID);
  if (null) return std::nullopt;
  return array_strings(d);
}

}  // namespace warden::pg
