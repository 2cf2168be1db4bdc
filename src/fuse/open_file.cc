#include "fuse/open_file.h"

#include <algorithm>

#include "client/connection.h"
#include "client/file_stream.h"

namespace tessera::fuse {

OpenFile::OpenFile(client::Connection& conn, uint64_t nodeid, bool append)
    : conn_(conn), nodeid_(nodeid), append_(append) {}

OpenFile::~OpenFile() = default;

Status OpenFile::take_error() {
  Status e = std::move(error_);
  error_ = Status::ok();
  return e;
}

Status OpenFile::write(uint64_t offset, std::string_view data, const std::string& path) {
  std::lock_guard lk(mu_);
  if (!error_.is_ok()) return take_error();
  cache_valid_ = false;
  dirty_.add(offset, data);
  if (dirty_.bytes() >= kDirtyBytesMax) send_buffer(path);
  return Status::ok();
}

void OpenFile::send_buffer(const std::string& path) {
  if (dirty_.empty() || !error_.is_ok()) return;
  auto ranges = dirty_.take();
  for (auto& [offset, data] : ranges) {
    for (size_t pos = 0; pos < data.size();) {
      size_t n = std::min(data.size() - pos, client::kWriteMessageBytesMax);
      v1::WriteRequest req;
      if (!stream_) {
        stream_ = conn_.open_writer();
        req.set_path(path);
      }
      req.set_offset(offset + pos);
      req.set_append(append_);
      req.set_data(data.data() + pos, n);
      Status s = stream_->send(req);
      if (!s.is_ok()) {
        error_ = std::move(s);
        stream_.reset();
        streamed_end_ = 0;
        return;
      }
      pos += n;
      streamed_end_ = std::max(streamed_end_, offset + pos);
    }
  }
}

Status OpenFile::flush_locked(const std::string& path) {
  send_buffer(path);
  if (stream_) {
    auto r = stream_->finish();
    stream_.reset();
    streamed_end_ = 0;
    if (!r.is_ok() && error_.is_ok()) error_ = r.status();
  }
  return take_error();
}

Status OpenFile::flush(const std::string& path) {
  std::lock_guard lk(mu_);
  return flush_locked(path);
}

uint64_t OpenFile::pending_end() const {
  std::lock_guard lk(mu_);
  return std::max(dirty_.end(), streamed_end_);
}

void OpenFile::drop_cache() {
  std::lock_guard lk(mu_);
  cache_valid_ = false;
}

Result<std::string> OpenFile::read(uint64_t offset, size_t size, const std::string& path) {
  std::lock_guard lk(mu_);
  if (!dirty_.empty() || stream_) TESSERA_TRY(flush_locked(path));
  if (cache_valid_ && offset >= cache_offset_) {
    uint64_t in = offset - cache_offset_;
    if (in + size <= cache_.size() || (cache_eof_ && in <= cache_.size())) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(size, cache_.size() - in));
      return cache_.substr(static_cast<size_t>(in), n);
    }
  }
  uint64_t want = std::max<uint64_t>(size, kReadAheadBytes);
  v1::ReadRequest req;
  req.set_path(path);
  req.set_offset(offset);
  req.set_length(want);
  auto reader = conn_.open_reader(req);
  std::string got;
  v1::ReadResponse piece;
  while (true) {
    TESSERA_ASSIGN_OR_RETURN(bool more, reader->next(&piece));
    if (!more) break;
    if (piece.offset() != offset + got.size()) {
      return Status(Errc::corruption, path + ": read data arrived out of order");
    }
    got += piece.data();
    if (got.size() >= want) break;
  }
  cache_offset_ = offset;
  cache_eof_ = got.size() < want;
  cache_ = std::move(got);
  cache_valid_ = true;
  return cache_.substr(0, std::min<size_t>(size, cache_.size()));
}

}  // namespace tessera::fuse
