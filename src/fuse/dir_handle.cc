#include "fuse/dir_handle.h"

#include "client/connection.h"

namespace tessera::fuse {

Result<std::optional<v1::Stat>> DirHandle::entry(client::Connection& conn, size_t index) {
  std::lock_guard lk(mu_);
  while (index >= entries_.size() && !complete_) {
    v1::ListRequest req;
    req.set_path(path_);
    req.set_limit(kListPageEntries);
    req.set_page_token(next_token_);
    TESSERA_ASSIGN_OR_RETURN(v1::ListResponse page, conn.list(req));
    for (auto& e : *page.mutable_entries()) entries_.push_back(std::move(e));
    next_token_ = page.next_page_token();
    complete_ = next_token_.empty();
  }
  if (index >= entries_.size()) return std::optional<v1::Stat>();
  return std::optional<v1::Stat>(entries_[index]);
}

}  // namespace tessera::fuse
