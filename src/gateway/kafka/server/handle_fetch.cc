// Fetch: each partition is read from its partition shard (here after a
// read barrier, or on a node holding it), its records re-encoded as one
// uncompressed record batch. Long poll: while fewer than min_bytes are
// ready, the handler waits (up to max_wait_ms) for any of the partition
// shards held here to apply something new, re-polling remote ones.
// Fetch sessions (KIP-227) are not kept: session id 0 means every fetch is
// a full one, which clients accept.
#include <algorithm>
#include <chrono>
#include <thread>

#include "gateway/kafka/protocol/fetch.h"
#include "gateway/kafka/protocol/records.h"
#include "gateway/kafka/server/broker.h"
#include "gateway/kafka/server/errors.h"
#include "gateway/kafka/server/handlers.h"
#include "gateway/kafka/server/session.h"
#include "namespace/permissions.h"
#include "server/backend.h"
#include "server/stream_router.h"
#include "shard/shard_host.h"

namespace tessera::kafka {
namespace {

constexpr int kRead = static_cast<int>(ns::Access::read);
constexpr int32_t kFetchWaitMsMax = 30000;

void encode_records(const tessera::v1::FetchResponse& fetched, std::string* out) {
  const auto& recs = fetched.records();
  if (recs.empty()) return;
  RecordBatch batch;
  batch.base_offset = static_cast<int64_t>(recs[0].offset());
  batch.base_timestamp = recs[0].timestamp_ms();
  batch.max_timestamp = batch.base_timestamp;
  batch.records.reserve(static_cast<size_t>(recs.size()));
  for (const auto& r : recs) {
    Record k;
    k.offset_delta = static_cast<int64_t>(r.offset()) - batch.base_offset;
    k.timestamp_delta = r.timestamp_ms() - batch.base_timestamp;
    if (!r.key().empty()) k.key = r.key();
    k.value = r.value();
    for (const auto& hd : r.headers()) k.headers.push_back(RecordHeader{hd.key(), hd.value()});
    batch.max_timestamp = std::max(batch.max_timestamp, r.timestamp_ms());
    batch.records.push_back(std::move(k));
  }
  append_record_batch(out, batch, Compression::none);
}

struct Slot {
  size_t topic = 0;
  size_t part = 0;
  uint64_t shard = 0;
  bool done = false;  // answered (data or an error): not polled again
};

}  // namespace

HandlerResult handle_fetch(Session& s, const RequestHeader& h, std::string_view body) {
  TESSERA_ASSIGN_OR_RETURN(auto req, decode_fetch_request(body, h.api_version));
  Broker& b = s.broker();
  auto& router = b.backend().streams();
  auto& host = b.backend().host();
  const auto& who = *s.principal();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(std::clamp(req.max_wait_ms, 0, kFetchWaitMsMax));

  FetchResponse resp;
  std::vector<Slot> slots;
  for (size_t t = 0; t < req.topics.size(); ++t) {
    const auto& ft = req.topics[t];
    FetchTopicResponse tr;
    tr.topic = ft.topic;
    auto topic = b.resolve(who, ft.topic, kRead, false);
    for (size_t p = 0; p < ft.partitions.size(); ++p) {
      const auto& fp = ft.partitions[p];
      FetchPartitionResponse pr;
      pr.partition_index = fp.partition;
      pr.records = std::string();
      pr.aborted_transactions = std::vector<FetchAbortedTransaction>();
      Slot slot{t, p, 0, false};
      if (!topic.is_ok()) {
        pr.error_code = code(error_for(topic.status()));
        slot.done = true;
      } else if (fp.partition < 0 || fp.partition >= topic->topic.topic.partitions_size()) {
        pr.error_code = code(KafkaError::unknown_topic_or_partition);
        slot.done = true;
      } else {
        slot.shard = topic->topic.topic.partitions(fp.partition).shard();
      }
      tr.partitions.push_back(std::move(pr));
      slots.push_back(slot);
    }
    resp.responses.push_back(std::move(tr));
  }

  const int64_t total_max = req.max_bytes > 0 ? req.max_bytes : INT32_MAX;
  int64_t total = 0;
  auto cancelled = [&b] { return b.stopping(); };
  for (;;) {
    std::vector<std::pair<ShardId, LogIndex>> seen;
    bool remote = false;
    for (auto& slot : slots) {
      if (slot.done) continue;
      const auto& fp = req.topics[slot.topic].partitions[slot.part];
      auto& pr = resp.responses[slot.topic].partitions[slot.part];
      const ShardId shard(slot.shard);
      const bool local = host.has_shard(shard);
      if (local) seen.emplace_back(shard, host.applied_index(shard));
      remote = remote || !local;
      if (fp.fetch_offset < 0) {
        pr.error_code = code(KafkaError::offset_out_of_range);
        slot.done = true;
        continue;
      }
      internal::PartitionRead read;
      read.set_shard(slot.shard);
      read.set_offset(static_cast<uint64_t>(fp.fetch_offset));
      const int64_t budget = std::min<int64_t>(fp.partition_max_bytes, total_max - total);
      read.set_max_bytes(static_cast<uint32_t>(std::clamp<int64_t>(budget, 1, INT32_MAX)));
      read.set_records(true);
      auto got = router.read_partition(slot.shard, read, cancelled);
      if (!got.is_ok()) {
        pr.error_code = code(error_for(got.status()));
        if (got.status().code() == Errc::out_of_range) {
          // Offsets for the client to reset from.
          internal::PartitionRead offsets;
          offsets.set_shard(slot.shard);
          if (auto o = router.read_partition(slot.shard, offsets, cancelled); o.is_ok()) {
            pr.high_watermark = static_cast<int64_t>(o->fetch().end_offset());
            pr.last_stable_offset = pr.high_watermark;
            pr.log_start_offset = static_cast<int64_t>(o->fetch().start_offset());
          }
        }
        slot.done = true;
        continue;
      }
      const auto& f = got->fetch();
      pr.high_watermark = static_cast<int64_t>(f.end_offset());
      pr.last_stable_offset = pr.high_watermark;
      pr.log_start_offset = static_cast<int64_t>(f.start_offset());
      if (f.records_size() > 0) {
        encode_records(f, &*pr.records);
        total += static_cast<int64_t>(pr.records->size());
        slot.done = true;
      }
    }
    const bool all_done = std::all_of(slots.begin(), slots.end(), [](const Slot& x) { return x.done; });
    const auto now = std::chrono::steady_clock::now();
    if (all_done || total >= std::max<int32_t>(req.min_bytes, 1) || now >= deadline || b.stopping() ||
        total >= total_max) {
      break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    // Remote partitions are polled again; local ones wake the wait at once.
    const int64_t slice = std::min<int64_t>(left, remote ? 50 : 500);
    if (seen.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(slice));
    } else {
      host.wait_any_applied(seen, slice);
    }
  }
  std::string out;
  encode_fetch_response(resp, h.api_version, &out);
  return std::optional<std::string>(std::move(out));
}

}  // namespace tessera::kafka
