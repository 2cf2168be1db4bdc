#include "storage/engine.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <vector>

#include "base/coding.h"
#include "base/crc32c.h"

namespace tessera::storage {
namespace {

constexpr size_t kFrameHeader = 4;
const char* const kCfNames[] = {"log", "state"};

Status from_rocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::ok();
  Errc code = s.IsCorruption() ? Errc::corruption : Errc::io_error;
  return Status(code, std::string(what) + ": " + s.ToString());
}

// Verifies a value read into `raw` (pinned: no copy yet) and copies its
// payload out once.
Result<std::optional<std::string>> unframe_value(const rocksdb::Status& s,
                                                 const rocksdb::PinnableSlice& raw,
                                                 std::string_view key) {
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return from_rocks(s, "storage get");
  auto payload = unframe(std::string_view(raw.data(), raw.size()), key);
  if (!payload.is_ok()) return payload.status();
  return std::optional<std::string>(std::string(*payload));
}

Status scan_iterator(rocksdb::Iterator* it, std::string_view start, std::string_view end,
                     const std::function<bool(std::string_view, std::string_view)>& fn) {
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
    auto k = it->key();
    std::string_view key(k.data(), k.size());
    if (!end.empty() && key >= end) break;
    auto v = it->value();
    auto payload = unframe(std::string_view(v.data(), v.size()), key);
    if (!payload.is_ok()) return payload.status();
    if (!fn(key, *payload)) break;
  }
  return from_rocks(it->status(), "storage scan");
}

}  // namespace

std::string frame(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + kFrameHeader);
  put_le32(out, crc32c(payload));
  out.append(payload);
  return out;
}

Result<std::string_view> unframe(std::string_view framed, std::string_view what) {
  if (framed.size() < kFrameHeader) {
    return Status(Errc::corruption, "record too short (key size " + std::to_string(what.size()) + ")");
  }
  std::string_view payload = framed.substr(kFrameHeader);
  if (get_le32(framed) != crc32c(payload)) {
    return Status(Errc::corruption, "checksum mismatch in stored record (key size " +
                                        std::to_string(what.size()) + ")");
  }
  return payload;
}

// ------------------------------------------------------------- engine impl

struct Engine::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;  // indexed by Cf
  std::string dir;

  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs[static_cast<size_t>(c)]; }

  ~Impl() {
    if (db) {
      for (auto* h : cfs) db->DestroyColumnFamilyHandle(h);
      db->Close();
    }
  }
};

struct WriteBatch::Impl {
  enum class Kind { put, del, del_range };
  struct Op {
    Kind kind;
    Cf cf;
    std::string key;
    std::string header;  // put: the frame's checksum
    std::string value;   // put: the payload; del_range: the end key
  };
  std::vector<Op> ops;
};

struct SstWriter::Impl {
  rocksdb::Options options;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string path;
  uint64_t entries = 0;
  bool opened = false;
};

struct Txn::Impl {
  const Engine::Impl* engine;
  rocksdb::WriteBatchWithIndex wbwi{rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true};
};

struct Snapshot::Impl {
  const Engine::Impl* engine;
  const rocksdb::Snapshot* snap;
  ~Impl() { engine->db->ReleaseSnapshot(snap); }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::open(const std::string& dir, const EngineOptions& opts) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Errc::io_error, dir + ": cannot create directory: " + ec.message());

  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;
  // Flushed files are a consistent cut across column families: required by
  // Engine::commit(..., wal=false).
  db_opts.atomic_flush = true;

  auto cache = rocksdb::NewLRUCache(opts.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Debian's RocksDB computes CRC-32C in software; XXH3 block checksums are
  // far cheaper and values carry our own CRC-32C frame besides.
  table.checksum = rocksdb::kXXH3;
  table.cache_index_and_filter_blocks = true;

  rocksdb::ColumnFamilyOptions log_opts;
  log_opts.write_buffer_size = opts.write_buffer_bytes;
  log_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));

  rocksdb::ColumnFamilyOptions state_opts = log_opts;
  state_opts.enable_blob_files = true;
  state_opts.min_blob_size = opts.blob_min_bytes;
  state_opts.blob_file_size = 256ull << 20;
  state_opts.enable_blob_garbage_collection = true;

  std::vector<rocksdb::ColumnFamilyDescriptor> descs = {
      {rocksdb::kDefaultColumnFamilyName, log_opts},
      {kCfNames[0], log_opts},
      {kCfNames[1], state_opts},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_opts, dir, descs, &handles, &raw);
  if (!s.ok()) return from_rocks(s, dir);

  auto impl = std::make_unique<Impl>();
  impl->db.reset(raw);
  impl->dir = dir;
  impl->db->DestroyColumnFamilyHandle(handles[0]);
  impl->cfs = {handles[1], handles[2]};
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::write(WriteBatch& batch, bool sync) {
  rocksdb::WriteBatch wb;
  for (auto& op : batch.impl_->ops) {
    rocksdb::Status st;
    switch (op.kind) {
      case WriteBatch::Impl::Kind::put: {
        rocksdb::Slice key_part(op.key);
        rocksdb::Slice value_parts[2] = {rocksdb::Slice(op.header), rocksdb::Slice(op.value)};
        st = wb.Put(impl_->cf(op.cf), rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 2));
        break;
      }
      case WriteBatch::Impl::Kind::del:
        st = wb.Delete(impl_->cf(op.cf), op.key);
        break;
      case WriteBatch::Impl::Kind::del_range:
        st = wb.DeleteRange(impl_->cf(op.cf), op.key, op.value);
        break;
    }
    if (!st.ok()) return from_rocks(st, "storage write");
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return from_rocks(impl_->db->Write(wo, &wb), "storage write");
}

Status Engine::commit(Txn& txn, bool sync, bool wal) {
  rocksdb::WriteOptions wo;
  wo.sync = sync && wal;
  wo.disableWAL = !wal;
  return from_rocks(impl_->db->Write(wo, txn.impl_->wbwi.GetWriteBatch()), "storage commit");
}

Result<std::optional<std::string>> Engine::get(Cf cf, std::string_view key) const {
  rocksdb::PinnableSlice raw;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(cf), rocksdb::Slice(key.data(), key.size()), &raw);
  return unframe_value(s, raw, key);
}

Status Engine::scan(Cf cf, std::string_view start, std::string_view end,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->cf(cf)));
  return scan_iterator(it.get(), start, end, fn);
}

std::unique_ptr<Txn> Engine::begin() const {
  auto impl = std::make_unique<Txn::Impl>();
  impl->engine = impl_.get();
  return std::unique_ptr<Txn>(new Txn(std::move(impl)));
}

std::unique_ptr<Snapshot> Engine::snapshot() const {
  auto impl = std::make_unique<Snapshot::Impl>();
  impl->engine = impl_.get();
  impl->snap = impl_->db->GetSnapshot();
  return std::unique_ptr<Snapshot>(new Snapshot(std::move(impl)));
}

Result<std::unique_ptr<SstWriter>> Engine::sst_writer(Cf cf, const std::string& path) const {
  auto impl = std::make_unique<SstWriter::Impl>();
  impl->options = rocksdb::Options(impl_->db->GetDBOptions(), impl_->db->GetOptions(impl_->cf(cf)));
  impl->writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), impl->options, impl_->cf(cf));
  impl->path = path;
  return std::unique_ptr<SstWriter>(new SstWriter(std::move(impl)));
}

Status Engine::ingest(Cf cf, const std::string& path) {
  rocksdb::IngestExternalFileOptions io;
  io.move_files = true;
  return from_rocks(impl_->db->IngestExternalFile(impl_->cf(cf), {path}, io), path + ": ingest");
}

const std::string& Engine::dir() const { return impl_->dir; }

uint64_t Engine::disk_bytes() const {
  uint64_t total = 0;
  for (auto* h : impl_->cfs) {
    uint64_t v = 0;
    if (impl_->db->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) total += v;
    if (impl_->db->GetIntProperty(h, "rocksdb.total-blob-file-size", &v)) total += v;
  }
  return total;
}

// ------------------------------------------------------------ write batch

WriteBatch::WriteBatch() : impl_(std::make_unique<Impl>()) {}
WriteBatch::~WriteBatch() = default;

void WriteBatch::put(Cf cf, std::string key, std::string payload) {
  std::string header;
  put_le32(header, crc32c(payload));
  impl_->ops.push_back({Impl::Kind::put, cf, std::move(key), std::move(header), std::move(payload)});
}
void WriteBatch::del(Cf cf, std::string_view key) {
  impl_->ops.push_back({Impl::Kind::del, cf, std::string(key), {}, {}});
}
void WriteBatch::del_range(Cf cf, std::string_view start, std::string_view end) {
  impl_->ops.push_back({Impl::Kind::del_range, cf, std::string(start), {}, std::string(end)});
}
size_t WriteBatch::count() const { return impl_->ops.size(); }
size_t WriteBatch::bytes() const {
  size_t n = 0;
  for (auto& op : impl_->ops) n += op.key.size() + op.header.size() + op.value.size();
  return n;
}

// ------------------------------------------------------------- sst writer

SstWriter::SstWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SstWriter::~SstWriter() = default;

Status SstWriter::put(std::string_view key, std::string_view payload) {
  if (!impl_->opened) {
    TESSERA_TRY(from_rocks(impl_->writer->Open(impl_->path), impl_->path));
    impl_->opened = true;
  }
  auto framed = frame(payload);
  ++impl_->entries;
  return from_rocks(impl_->writer->Put(rocksdb::Slice(key.data(), key.size()), framed), impl_->path);
}

Status SstWriter::finish() {
  if (!impl_->opened) return Status::ok();
  // Finish() syncs the file before closing it.
  return from_rocks(impl_->writer->Finish(), impl_->path);
}

uint64_t SstWriter::entries() const { return impl_->entries; }
const std::string& SstWriter::path() const { return impl_->path; }

// -------------------------------------------------------------------- txn

Txn::Txn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Txn::~Txn() = default;

Result<std::optional<std::string>> Txn::get(std::string_view key) const {
  rocksdb::PinnableSlice raw;
  auto* e = impl_->engine;
  auto s = impl_->wbwi.GetFromBatchAndDB(e->db.get(), rocksdb::ReadOptions(), e->cf(Cf::state),
                                         rocksdb::Slice(key.data(), key.size()), &raw);
  return unframe_value(s, raw, key);
}

void Txn::put(std::string_view key, std::string_view payload) { put_raw(Cf::state, key, payload); }
void Txn::del(std::string_view key) { del_raw(Cf::state, key); }

void Txn::put_raw(Cf cf, std::string_view key, std::string_view payload) {
  auto framed = frame(payload);
  auto s = impl_->wbwi.Put(impl_->engine->cf(cf), rocksdb::Slice(key.data(), key.size()), framed);
  TESSERA_ASSERT(s.ok());
}
void Txn::del_raw(Cf cf, std::string_view key) {
  auto s = impl_->wbwi.Delete(impl_->engine->cf(cf), rocksdb::Slice(key.data(), key.size()));
  TESSERA_ASSERT(s.ok());
}

Status Txn::scan(std::string_view start, std::string_view end,
                 const std::function<bool(std::string_view, std::string_view)>& fn) const {
  auto* e = impl_->engine;
  rocksdb::ReadOptions ro;
  auto* base = e->db->NewIterator(ro, e->cf(Cf::state));
  std::unique_ptr<rocksdb::Iterator> it(impl_->wbwi.NewIteratorWithBase(e->cf(Cf::state), base));
  return scan_iterator(it.get(), start, end, fn);
}

void Txn::set_save_point() { impl_->wbwi.SetSavePoint(); }
void Txn::rollback_to_save_point() {
  auto s = impl_->wbwi.RollbackToSavePoint();
  TESSERA_ASSERT(s.ok());
}
void Txn::pop_save_point() {
  auto s = impl_->wbwi.PopSavePoint();
  TESSERA_ASSERT(s.ok());
}

// --------------------------------------------------------------- snapshot

Snapshot::Snapshot(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Snapshot::~Snapshot() = default;

Result<std::optional<std::string>> Snapshot::get(std::string_view key) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = impl_->snap;
  rocksdb::PinnableSlice raw;
  auto* e = impl_->engine;
  auto s = e->db->Get(ro, e->cf(Cf::state), rocksdb::Slice(key.data(), key.size()), &raw);
  return unframe_value(s, raw, key);
}

Status Snapshot::scan(std::string_view start, std::string_view end,
                      const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = impl_->snap;
  auto* e = impl_->engine;
  std::unique_ptr<rocksdb::Iterator> it(e->db->NewIterator(ro, e->cf(Cf::state)));
  return scan_iterator(it.get(), start, end, fn);
}

}  // namespace tessera::storage
