#include "cluster/meta_reader.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cluster/meta_keys.h"
#include "namespace/volume_store.h"

namespace tessera::cluster {

using ns::parse_record;

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  TESSERA_ASSERT(EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) == 1);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_hex(size_t n) {
  std::string raw(n, '\0');
  TESSERA_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(n)) == 1);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

internal::Principal MetaReader::principal_of(const internal::UserRecord& u) {
  internal::Principal p;
  p.set_uid(u.uid());
  *p.mutable_gids() = u.gids();
  p.set_admin(u.admin());
  p.set_name(u.name());
  return p;
}

Result<internal::Principal> MetaReader::authenticate(std::string_view key_id,
                                                     std::string_view secret) const {
  const Status denied(Errc::unauthenticated, "invalid access key or secret");
  if (key_id.empty() || key_id.size() > 128) return denied;
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(access_key(key_id)));
  if (!raw) return denied;
  TESSERA_ASSIGN_OR_RETURN(auto k, parse_record<internal::KeyRecord>(*raw, "key"));
  std::string digest = sha256(secret);
  if (k.secret_sha256().size() != digest.size() ||
      CRYPTO_memcmp(k.secret_sha256().data(), digest.data(), digest.size()) != 0) {
    return denied;
  }
  TESSERA_ASSIGN_OR_RETURN(auto u, user_by_uid(k.uid()));
  if (!u) return denied;
  return principal_of(*u);
}

Result<std::optional<internal::KeyRecord>> MetaReader::key(std::string_view key_id) const {
  if (key_id.empty() || key_id.size() > 128) return std::optional<internal::KeyRecord>();
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(access_key(key_id)));
  if (!raw) return std::optional<internal::KeyRecord>();
  TESSERA_ASSIGN_OR_RETURN(auto k, parse_record<internal::KeyRecord>(*raw, "key"));
  return std::optional<internal::KeyRecord>(std::move(k));
}

Result<std::optional<internal::UserRecord>> MetaReader::user(std::string_view name) const {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(user_key(name)));
  if (!raw) return std::optional<internal::UserRecord>();
  TESSERA_ASSIGN_OR_RETURN(auto u, parse_record<internal::UserRecord>(*raw, "user"));
  return std::optional<internal::UserRecord>(std::move(u));
}

Result<std::optional<internal::UserRecord>> MetaReader::user_by_uid(uint32_t uid) const {
  TESSERA_ASSIGN_OR_RETURN(auto name, state_.get(uid_key(uid)));
  if (!name) return std::optional<internal::UserRecord>();
  return user(*name);
}

Result<std::optional<internal::GroupRecord>> MetaReader::group(std::string_view name) const {
  TESSERA_ASSIGN_OR_RETURN(auto raw, state_.get(group_key(name)));
  if (!raw) return std::optional<internal::GroupRecord>();
  TESSERA_ASSIGN_OR_RETURN(auto g, parse_record<internal::GroupRecord>(*raw, "group"));
  return std::optional<internal::GroupRecord>(std::move(g));
}

std::string MetaReader::user_name(uint32_t uid) const {
  auto name = state_.get(uid_key(uid));
  return name.is_ok() && name->has_value() ? **name : "#" + std::to_string(uid);
}

std::string MetaReader::group_name(uint32_t gid) const {
  auto name = state_.get(gid_key(gid));
  return name.is_ok() && name->has_value() ? **name : "#" + std::to_string(gid);
}

namespace {

// Every record of type T under keys [lo, hi).
template <typename T>
Result<std::vector<T>> scan_records(const storage::StateReader& state, std::string_view lo,
                                    std::string_view hi, std::string_view what) {
  std::vector<T> out;
  Status inner;
  TESSERA_TRY(state.scan(lo, hi, [&](std::string_view, std::string_view v) {
    auto rec = parse_record<T>(v, what);
    if (!rec.is_ok()) {
      inner = rec.status();
      return false;
    }
    out.push_back(std::move(rec).value());
    return true;
  }));
  TESSERA_TRY(inner);
  return out;
}

}  // namespace

Result<std::vector<internal::UserRecord>> MetaReader::users() const {
  return scan_records<internal::UserRecord>(state_, "U", "V", "user");
}

Result<std::vector<internal::VolumeRecord>> MetaReader::volumes() const {
  return scan_records<internal::VolumeRecord>(state_, "M", "N", "volume");
}

Result<std::vector<internal::NodeRecord>> MetaReader::nodes() const {
  return scan_records<internal::NodeRecord>(state_, "N", "O", "node");
}

const char* shard_kind(const internal::ShardRecord& record) {
  if (record.file_data()) return "data";
  return record.table_ino() != 0 ? "tablet" : "partition";
}

std::string shard_group(const internal::ShardRecord& record) {
  const std::string vol = std::to_string(record.volume_id());
  if (record.file_data()) return "volume " + vol + " data";
  if (record.table_ino() != 0) return "volume " + vol + " table " + std::to_string(record.table_ino());
  return "volume " + vol + " stream " + std::to_string(record.stream_ino());
}

Result<std::vector<internal::ShardRecord>> MetaReader::shards() const {
  return scan_records<internal::ShardRecord>(state_, "S", "T", "shard");
}

uint64_t MetaReader::next_shard() const {
  auto raw = state_.get(counters_key());
  if (!raw.is_ok() || !raw->has_value()) return 0;
  auto c = parse_record<internal::MetaCounters>(**raw, "meta counters");
  return c.is_ok() ? c->next_shard() : 0;
}

std::string MetaReader::cluster_id() const {
  auto raw = state_.get(counters_key());
  if (!raw.is_ok() || !raw->has_value()) return "";
  auto c = parse_record<internal::MetaCounters>(**raw, "meta counters");
  return c.is_ok() ? c->cluster_id() : "";
}

bool MetaReader::initialised() const {
  auto raw = state_.get(counters_key());
  return raw.is_ok() && raw->has_value();
}

}  // namespace tessera::cluster
