#include "fuse/attributes.h"

#include <cctype>
#include <cstring>

namespace tessera::fuse {
namespace {

struct timespec from_ms(int64_t ms) {
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1'000'000);
  if (ts.tv_nsec < 0) {
    ts.tv_sec -= 1;
    ts.tv_nsec += 1'000'000'000;
  }
  return ts;
}

}  // namespace

bool is_file(v1::ObjectKind kind) { return kind == v1::KIND_FILE; }

bool is_directory(v1::ObjectKind kind) {
  return kind == v1::KIND_DIRECTORY || kind == v1::KIND_VOLUME;
}

std::string kind_name(v1::ObjectKind kind) {
  // The enum's own names, "KIND_FILE" → "file".
  std::string name = v1::ObjectKind_Name(kind);
  constexpr std::string_view kPrefix = "KIND_";
  if (name.compare(0, kPrefix.size(), kPrefix) == 0) name.erase(0, kPrefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.empty() ? "unknown" : name;
}

struct stat to_attr(const v1::Stat& st, const IdentityMap& ids) {
  struct stat a;
  std::memset(&a, 0, sizeof(a));
  mode_t type = S_IFREG;
  mode_t perm = static_cast<mode_t>(st.mode() & 07777);
  uint64_t size = st.size();
  if (is_directory(st.kind())) {
    type = S_IFDIR;
  } else if (st.kind() == v1::KIND_SYMLINK) {
    type = S_IFLNK;
    perm = 0777;
    size = st.symlink_target().size();
  }
  a.st_mode = type | perm;
  a.st_nlink = st.nlink() == 0 ? 1 : st.nlink();
  a.st_uid = ids.uid_of(st.owner());
  a.st_gid = ids.gid_of(st.group());
  a.st_size = static_cast<off_t>(size);
  a.st_blocks = static_cast<blkcnt_t>((size + 511) / 512);
  a.st_mtim = from_ms(st.mtime_ms());
  a.st_ctim = from_ms(st.ctime_ms());
  a.st_atim = a.st_mtim;
  return a;
}

}  // namespace tessera::fuse
