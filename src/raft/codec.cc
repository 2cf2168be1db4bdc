#include "raft/codec.h"

#include <algorithm>

#include "raft/varint.h"

namespace tessera::raft {

using detail::put_bytes;
using detail::put_varint;
using detail::Reader;

namespace {

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagSnapshot = 2;
constexpr uint8_t kFlagsKnown = kFlagReject | kFlagSnapshot;

Status corrupt(std::string_view what) { return error(Errc::corruption, what); }

void put_ids(std::string& out, const std::vector<NodeId>& ids) {
  put_varint(out, ids.size());
  for (NodeId id : ids) put_varint(out, id.value);
}

// Ids must be strictly ascending (ConfState's invariant).
bool read_ids(Reader& r, std::vector<NodeId>& ids) {
  uint64_t n = 0;
  if (!r.count(n)) return false;
  ids.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    NodeId id;
    if (!r.id(id)) return false;
    if (!ids.empty() && id <= ids.back()) return false;
    ids.push_back(id);
  }
  return true;
}

void put_meta(std::string& out, const SnapshotMeta& meta) {
  put_varint(out, meta.index.value);
  put_varint(out, meta.term.value);
  put_ids(out, meta.conf.voters);
  put_ids(out, meta.conf.learners);
}

bool read_meta(Reader& r, SnapshotMeta& meta) {
  if (!r.id(meta.index) || !r.id(meta.term) || !read_ids(r, meta.conf.voters) ||
      !read_ids(r, meta.conf.learners)) {
    return false;
  }
  // Voters and learners are disjoint.
  for (NodeId id : meta.conf.learners) {
    if (std::binary_search(meta.conf.voters.begin(), meta.conf.voters.end(), id)) return false;
  }
  return true;
}

bool read_entry_type(Reader& r, EntryType& type) {
  uint8_t b = 0;
  if (!r.byte(b) || b > static_cast<uint8_t>(EntryType::conf_change)) return false;
  type = static_cast<EntryType>(b);
  return true;
}

void put_message(std::string& out, const Message& m) {
  out.push_back(static_cast<char>(m.type));
  put_varint(out, m.from.value);
  put_varint(out, m.to.value);
  put_varint(out, m.term.value);
  put_varint(out, m.log_term.value);
  put_varint(out, m.index.value);
  put_varint(out, m.commit.value);
  put_varint(out, m.reject_hint.value);
  put_varint(out, m.context);
  uint8_t flags = (m.reject ? kFlagReject : 0) | (m.snapshot ? kFlagSnapshot : 0);
  out.push_back(static_cast<char>(flags));
  put_varint(out, m.entries.size());
  for (const Entry& e : m.entries) {
    put_varint(out, e.term.value);
    put_varint(out, e.index.value);
    out.push_back(static_cast<char>(e.type));
    put_bytes(out, e.data);
  }
  if (m.snapshot) put_meta(out, *m.snapshot);
}

bool read_message(Reader& r, Message& m) {
  uint8_t type = 0;
  uint8_t flags = 0;
  if (!r.byte(type) || type > kMessageTypeMax) return false;
  m.type = static_cast<MessageType>(type);
  if (!r.id(m.from) || !r.id(m.to) || !r.id(m.term) || !r.id(m.log_term) || !r.id(m.index) ||
      !r.id(m.commit) || !r.id(m.reject_hint) || !r.varint(m.context) || !r.byte(flags) ||
      (flags & ~kFlagsKnown) != 0) {
    return false;
  }
  m.reject = (flags & kFlagReject) != 0;
  uint64_t n = 0;
  if (!r.count(n)) return false;
  m.entries.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    if (!r.id(e.term) || !r.id(e.index) || !read_entry_type(r, e.type) || !r.bytes(e.data)) {
      return false;
    }
    m.entries.push_back(std::move(e));
  }
  if ((flags & kFlagSnapshot) != 0) {
    SnapshotMeta meta;
    if (!read_meta(r, meta)) return false;
    m.snapshot = std::move(meta);
  }
  return true;
}

bool read_version(Reader& r) {
  uint8_t v = 0;
  return r.byte(v) && v == kCodecVersion;
}

}  // namespace

std::string encode_messages(const std::vector<Message>& messages) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  put_varint(out, messages.size());
  for (const Message& m : messages) put_message(out, m);
  return out;
}

Result<std::vector<Message>> decode_messages(std::string_view bytes) {
  Reader r(bytes);
  uint64_t n = 0;
  if (!read_version(r) || !r.count(n)) return corrupt("raft: message batch");
  std::vector<Message> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Message m;
    if (!read_message(r, m)) return corrupt("raft: message batch");
    out.push_back(std::move(m));
  }
  if (!r.done()) return corrupt("raft: message batch");
  return out;
}

std::string encode_entry(const Entry& entry) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  put_varint(out, entry.term.value);
  out.push_back(static_cast<char>(entry.type));
  put_bytes(out, entry.data);
  return out;
}

Result<Entry> decode_entry(std::string_view bytes, LogIndex index) {
  Reader r(bytes);
  Entry e;
  e.index = index;
  if (!read_version(r) || !r.id(e.term) || !read_entry_type(r, e.type) || !r.bytes(e.data) ||
      !r.done()) {
    return corrupt("raft: log entry");
  }
  return e;
}

std::string encode_hard_state(const HardState& hs) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  put_varint(out, hs.term.value);
  put_varint(out, hs.vote.value);
  put_varint(out, hs.commit.value);
  return out;
}

Result<HardState> decode_hard_state(std::string_view bytes) {
  Reader r(bytes);
  HardState hs;
  if (!read_version(r) || !r.id(hs.term) || !r.id(hs.vote) || !r.id(hs.commit) || !r.done()) {
    return corrupt("raft: hard state");
  }
  return hs;
}

std::string encode_snapshot_meta(const SnapshotMeta& meta) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  put_meta(out, meta);
  return out;
}

Result<SnapshotMeta> decode_snapshot_meta(std::string_view bytes) {
  Reader r(bytes);
  SnapshotMeta meta;
  if (!read_version(r) || !read_meta(r, meta) || !r.done()) return corrupt("raft: snapshot meta");
  return meta;
}

}  // namespace tessera::raft
