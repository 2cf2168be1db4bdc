#include "base/status.h"

#include <array>

namespace tessera {
namespace {

struct ErrcInfo {
  Errc code;
  std::string_view name;
  std::string_view text;
};

constexpr std::array<ErrcInfo, 22> kInfo{{
    {Errc::ok, "ok", "ok"},
    {Errc::invalid_argument, "invalid_argument", "invalid argument"},
    {Errc::not_found, "not_found", "not found"},
    {Errc::already_exists, "already_exists", "already exists"},
    {Errc::permission_denied, "permission_denied", "permission denied"},
    {Errc::unauthenticated, "unauthenticated", "unauthenticated"},
    {Errc::not_a_directory, "not_a_directory", "not a directory"},
    {Errc::is_a_directory, "is_a_directory", "is a directory"},
    {Errc::not_empty, "not_empty", "directory not empty"},
    {Errc::wrong_kind, "wrong_kind", "wrong object kind"},
    {Errc::cross_volume, "cross_volume", "cross-volume operation not allowed"},
    {Errc::quota_exceeded, "quota_exceeded", "volume quota exceeded"},
    {Errc::too_large, "too_large", "too large"},
    {Errc::version_mismatch, "version_mismatch", "version mismatch"},
    {Errc::out_of_range, "out_of_range", "out of range"},
    {Errc::io_error, "io_error", "I/O error"},
    {Errc::corruption, "corruption", "data corruption detected"},
    {Errc::unavailable, "unavailable", "unavailable"},
    {Errc::resource_exhausted, "resource_exhausted", "resource exhausted"},
    {Errc::internal, "internal", "internal error"},
    {Errc::not_leader, "not_leader", "not the leader"},
    {Errc::failed_precondition, "failed_precondition", "failed precondition"},
}};

const ErrcInfo& info(Errc code) {
  auto i = static_cast<size_t>(code);
  TESSERA_ASSERT(i < kInfo.size() && kInfo[i].code == code);
  return kInfo[i];
}

}  // namespace

std::string_view errc_name(Errc code) { return info(code).name; }
std::string_view errc_text(Errc code) { return info(code).text; }

Errc errc_from_name(std::string_view name) {
  for (const auto& i : kInfo) {
    if (i.name == name) return i.code;
  }
  return Errc::internal;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return message_ + " (" + std::string(errc_name(code_)) + ")";
}

}  // namespace tessera
