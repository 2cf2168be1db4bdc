#include "server/redirect.h"

namespace tessera::server {
namespace {

constexpr std::string_view kRetryAt = "; retry at ";

}  // namespace

Status redirect_status(ShardId shard, const std::string& address) {
  TESSERA_ASSERT(!address.empty() && address.find(' ') == std::string::npos);
  return Status(Errc::not_leader, "shard " + std::to_string(shard.value) + ": not hosted on this node" +
                                      std::string(kRetryAt) + address);
}

std::optional<std::string> redirect_address(const Status& st) {
  if (st.code() != Errc::not_leader) return std::nullopt;
  const std::string& m = st.message();
  size_t at = m.rfind(kRetryAt);
  if (at == std::string::npos) return std::nullopt;
  std::string address = m.substr(at + kRetryAt.size());
  if (address.empty() || address.find(' ') != std::string::npos) return std::nullopt;
  return address;
}

Status after_proposal(Status st) {
  if (st.code() != Errc::not_leader) return st;
  std::string m = st.message();
  if (redirect_address(st)) m.resize(m.rfind(kRetryAt));
  return Status(Errc::unavailable, m + ", after this request proposed a change: outcome unknown");
}

}  // namespace tessera::server
