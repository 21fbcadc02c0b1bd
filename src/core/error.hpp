#pragma once

#include <stdexcept>
#include <string>

namespace warden {

// An error meant for the user: the extension boundary turns it into a PostgreSQL ERROR with
// this SQLSTATE, message, detail and hint. Core code throws it without knowing PostgreSQL.
class Error : public std::runtime_error {
 public:
  Error(std::string sqlstate, const std::string& message, std::string detail = {},
        std::string hint = {})
      : std::runtime_error(message),
        sqlstate_(std::move(sqlstate)),
        detail_(std::move(detail)),
        hint_(std::move(hint)) {}

  const std::string& sqlstate() const { return sqlstate_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string sqlstate_;
  std::string detail_;
  std::string hint_;
};

// SQLSTATEs warden raises, named as PostgreSQL names them.
namespace sqlstate {
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kNullValueNotAllowed = "22004";
inline constexpr const char* kInvalidTextRepresentation = "22P02";
inline constexpr const char* kUniqueViolation = "23505";
inline constexpr const char* kForeignKeyViolation = "23503";
inline constexpr const char* kInsufficientPrivilege = "42501";
inline constexpr const char* kUndefinedObject = "42704";
inline constexpr const char* kObjectNotInPrerequisiteState = "55000";
inline constexpr const char* kConfigFileError = "F0000";
inline constexpr const char* kInternalError = "XX000";
}  // namespace sqlstate

}  // namespace warden
