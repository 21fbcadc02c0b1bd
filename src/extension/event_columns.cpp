#include "extension/event_columns.hpp"

#include <cstring>

#include "core/error.hpp"

extern "C" {
#include "access/table.h"
#include "utils/inval.h"
#include "utils/rel.h"
}

namespace warden::pg {

namespace {

constexpr bool columns_in_enum_order() {
  for (size_t i = 0; i < kEventColumns.size(); ++i) {
    if (index_of(kEventColumns[i].column) != i) return false;
  }
  return true;
}
static_assert(columns_in_enum_order(), "kEventColumns must list EventColumn in order");

// One column's canonical text as found inside pg_call: plain data only.
struct RawText {
  const char* data;
  size_t size;
  bool hex;  // data holds bytes to print as hex
};

// warden.events, once its columns matched kEventColumns; reset by any relcache invalidation
// of that table (ALTER TABLE, DROP EXTENSION) so the next use checks again.
Oid checked_relation = InvalidOid;
bool invalidation_registered = false;

void forget_checked(Datum, Oid relid) {
  if (relid == InvalidOid || relid == checked_relation) checked_relation = InvalidOid;
}

std::string type_name(Oid type) {
  char* name = pg_call([&] { return format_type_be(type); });
  return name;
}

}  // namespace

EventColumns mac_columns(const EventValues& row) {
  std::array<RawText, kMacColumnCount> raw{};
  pg_call([&] {
    for (size_t i = 0; i < kMacColumnCount; ++i) {
      const EventColumnSpec& spec = kEventColumns[i];
      if (row.is_null(spec.column)) {
        raw[i] = {nullptr, 0, false};
        continue;
      }
      Datum d = row.get(spec.column);
      switch (spec.type) {
        case UUIDOID:
        case JSONBOID: {
          char* s =
              DatumGetCString(DirectFunctionCall1(spec.type == UUIDOID ? uuid_out : jsonb_out, d));
          raw[i] = {s, strlen(s), false};
          break;
        }
        case TIMESTAMPTZOID: {
          char* s = psprintf(INT64_FORMAT, static_cast<int64>(DatumGetTimestampTz(d)));
          raw[i] = {s, strlen(s), false};
          break;
        }
        case BOOLOID:
          raw[i] = {DatumGetBool(d) ? "t" : "f", 1, false};
          break;
        case BYTEAOID: {
          bytea* b = DatumGetByteaPP(d);
          raw[i] = {VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), true};
          break;
        }
        default: {
          text* t = DatumGetTextPP(d);
          raw[i] = {VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), false};
          break;
        }
      }
    }
  });
  EventColumns out;
  out.reserve(kMacColumnCount);
  for (const RawText& r : raw) {
    if (r.data == nullptr) {
      out.emplace_back(std::nullopt);
    } else if (r.hex) {
      out.emplace_back(to_hex(reinterpret_cast<const uint8_t*>(r.data), r.size));
    } else {
      out.emplace_back(std::string(r.data, r.size));
    }
  }
  return out;
}

const std::string& event_column_names() {
  static const std::string names = [] {
    std::string out;
    for (const EventColumnSpec& spec : kEventColumns) {
      if (!out.empty()) out += ", ";
      out += spec.name;
    }
    return out;
  }();
  return names;
}

void require_event_columns() {
  Oid relid = pg_call([] {
    Oid schema = get_namespace_oid("warden", true);
    return schema == InvalidOid ? InvalidOid : get_relname_relid("events", schema);
  });
  if (relid != InvalidOid && relid == checked_relation) return;
  if (!invalidation_registered) {
    pg_call([] { CacheRegisterRelcacheCallback(forget_checked, 0); });
    invalidation_registered = true;
  }
  if (relid == InvalidOid) {
    throw Error("42P01", "warden.events does not exist", {},
                "Create the extension with CREATE EXTENSION warden.");
  }
  // (name, type) of each live column, in order, copied out of the relcache entry.
  struct Column {
    NameData name;
    Oid type;
  };
  std::vector<Column> table(kEventColumns.size() + 1);
  int count = pg_call([&] {
    Relation rel = table_open(relid, AccessShareLock);
    TupleDesc desc = RelationGetDescr(rel);
    int n = 0;
    for (int i = 0; i < desc->natts && n < static_cast<int>(table.size()); ++i) {
      Form_pg_attribute att = TupleDescAttr(desc, i);
      if (att->attisdropped) continue;
      table[n].name = att->attname;
      table[n].type = att->atttypid;
      ++n;
    }
    table_close(rel, NoLock);
    return n;
  });
  for (size_t i = 0; i < kEventColumns.size() + 1; ++i) {
    const bool table_has = i < static_cast<size_t>(count);
    const bool list_has = i < kEventColumns.size();
    if (!table_has && !list_has) break;
    if (table_has && list_has && strcmp(NameStr(table[i].name), kEventColumns[i].name) == 0 &&
        table[i].type == kEventColumns[i].type) {
      continue;
    }
    auto described = [](const char* name, Oid type) {
      std::string out = "\"";
      out += name;
      out += "\" (";
      out += type_name(type);
      out += ")";
      return out;
    };
    const std::string found =
        table_has ? described(NameStr(table[i].name), table[i].type) : "no column";
    const std::string expected =
        list_has ? described(kEventColumns[i].name, kEventColumns[i].type) : "no column";
    std::string detail = "Column ";
    detail += std::to_string(i + 1);
    detail += " is ";
    detail += found;
    detail += ", expected ";
    detail += expected;
    detail += ".";
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                "warden.events does not have the columns this warden library reads and writes",
                detail,
                "The table and the library must be the same release: run ALTER EXTENSION warden "
                "UPDATE, and never alter warden.events by hand.");
  }
  checked_relation = relid;
}

}  // namespace warden::pg
