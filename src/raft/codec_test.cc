#include "raft/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tessera::raft {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return state_ >> 11;
  }
  // Mostly small values, sometimes full-width ones (all varint lengths).
  uint64_t value() {
    switch (next() % 4) {
      case 0: return 0;
      case 1: return next() % 200;
      case 2: return next() % 100'000;
      default: return next() << 11 | next() % 2048;
    }
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

std::vector<NodeId> random_ids(Rng& rng, uint64_t start) {
  std::vector<NodeId> out;
  uint64_t id = start;
  for (uint64_t i = rng.below(4); i > 0; --i) {
    id += 1 + rng.below(5);
    out.push_back(NodeId(id));
  }
  return out;
}

SnapshotMeta random_meta(Rng& rng) {
  SnapshotMeta meta{.index = LogIndex(rng.value()), .term = Term(rng.value())};
  meta.conf.voters = random_ids(rng, 0);
  // Learners above every voter: disjoint and sorted.
  meta.conf.learners = random_ids(rng, meta.conf.voters.empty() ? 0 : meta.conf.voters.back().value);
  return meta;
}

Message random_message(Rng& rng) {
  Message m;
  m.type = static_cast<MessageType>(rng.below(kMessageTypeMax + 1));
  m.from = NodeId(rng.value());
  m.to = NodeId(rng.value());
  m.term = Term(rng.value());
  m.log_term = Term(rng.value());
  m.index = LogIndex(rng.value());
  m.commit = LogIndex(rng.value());
  m.reject = rng.below(2) == 1;
  m.reject_hint = LogIndex(rng.value());
  m.context = rng.value();
  for (uint64_t i = rng.below(4); i > 0; --i) {
    Entry e{.term = Term(rng.value()), .index = LogIndex(rng.value()),
            .type = static_cast<EntryType>(rng.below(2))};
    e.data.assign(rng.below(3) == 0 ? 0 : rng.below(300), static_cast<char>(rng.below(256)));
    m.entries.push_back(std::move(e));
  }
  if (rng.below(3) == 0) m.snapshot = random_meta(rng);
  return m;
}

TEST(Codec, MessagesRoundTrip) {
  Rng rng(1);
  for (int round = 0; round < 300; ++round) {
    std::vector<Message> batch;
    for (uint64_t i = rng.below(5); i > 0; --i) batch.push_back(random_message(rng));
    std::string bytes = encode_messages(batch);
    Result<std::vector<Message>> back = decode_messages(bytes);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    ASSERT_EQ(*back, batch);
  }
}

// Every strict prefix of a valid encoding is rejected, as is trailing junk.
TEST(Codec, TruncatedMessagesAreCorruption) {
  Rng rng(2);
  for (int round = 0; round < 40; ++round) {
    std::vector<Message> batch{random_message(rng), random_message(rng)};
    std::string bytes = encode_messages(batch);
    for (size_t n = 0; n < bytes.size(); ++n) {
      Result<std::vector<Message>> r = decode_messages(std::string_view(bytes).substr(0, n));
      ASSERT_FALSE(r.is_ok()) << "prefix " << n << " of " << bytes.size();
      ASSERT_EQ(r.status().code(), Errc::corruption);
    }
    EXPECT_EQ(decode_messages(bytes + '\0').status().code(), Errc::corruption);
  }
}

// Random bytes and bit flips never crash; whatever decodes re-encodes to the
// same bytes' meaning (decode . encode . decode == decode).
TEST(Codec, GarbageNeverCrashes) {
  Rng rng(3);
  std::string valid = encode_messages({random_message(rng), random_message(rng)});
  for (int round = 0; round < 20'000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {
      bytes.resize(rng.below(64));
      for (char& c : bytes) c = static_cast<char>(rng.below(256));
      if (!bytes.empty() && rng.below(2) == 0) bytes[0] = static_cast<char>(kCodecVersion);
    } else {
      bytes = valid;
      for (uint64_t i = 1 + rng.below(3); i > 0; --i) {
        bytes[rng.below(bytes.size())] ^= static_cast<char>(1 << rng.below(8));
      }
    }
    Result<std::vector<Message>> r = decode_messages(bytes);
    if (!r.is_ok()) {
      ASSERT_EQ(r.status().code(), Errc::corruption);
      continue;
    }
    Result<std::vector<Message>> again = decode_messages(encode_messages(*r));
    ASSERT_TRUE(again.is_ok());
    ASSERT_EQ(*again, *r);
  }
}

// A huge count with no bytes behind it must not allocate for it.
TEST(Codec, HugeCountsAreRejected) {
  std::string bytes(1, static_cast<char>(kCodecVersion));
  for (int i = 0; i < 9; ++i) bytes.push_back(static_cast<char>(0xff));
  bytes.push_back(0x01);  // count = 2^64 - 1
  EXPECT_EQ(decode_messages(bytes).status().code(), Errc::corruption);
  std::string overlong(1, static_cast<char>(kCodecVersion));
  for (int i = 0; i < 11; ++i) overlong.push_back(static_cast<char>(0x80));
  EXPECT_EQ(decode_messages(overlong).status().code(), Errc::corruption);
}

TEST(Codec, PersistedValues) {
  Rng rng(4);
  for (int round = 0; round < 200; ++round) {
    Entry e{.term = Term(rng.value()), .index = LogIndex(rng.value()),
            .type = static_cast<EntryType>(rng.below(2)), .data = std::string(rng.below(50), 'd')};
    std::string eb = encode_entry(e);
    Result<Entry> eback = decode_entry(eb, e.index);
    ASSERT_TRUE(eback.is_ok());
    EXPECT_EQ(*eback, e);

    HardState hs{.term = Term(rng.value()), .vote = NodeId(rng.value()), .commit = LogIndex(rng.value())};
    std::string hb = encode_hard_state(hs);
    Result<HardState> hback = decode_hard_state(hb);
    ASSERT_TRUE(hback.is_ok());
    EXPECT_EQ(*hback, hs);

    SnapshotMeta meta = random_meta(rng);
    std::string mb = encode_snapshot_meta(meta);
    Result<SnapshotMeta> mback = decode_snapshot_meta(mb);
    ASSERT_TRUE(mback.is_ok());
    EXPECT_EQ(*mback, meta);

    for (size_t n = 0; n < eb.size(); ++n) {
      EXPECT_EQ(decode_entry(eb.substr(0, n), e.index).status().code(), Errc::corruption);
    }
    for (size_t n = 0; n < hb.size(); ++n) {
      EXPECT_EQ(decode_hard_state(hb.substr(0, n)).status().code(), Errc::corruption);
    }
    for (size_t n = 0; n < mb.size(); ++n) {
      EXPECT_EQ(decode_snapshot_meta(mb.substr(0, n)).status().code(), Errc::corruption);
    }
    EXPECT_EQ(decode_entry(eb + "x", e.index).status().code(), Errc::corruption);
    EXPECT_EQ(decode_hard_state(hb + "x").status().code(), Errc::corruption);
    EXPECT_EQ(decode_snapshot_meta(mb + "x").status().code(), Errc::corruption);
  }
  // Unsorted or overlapping membership is corruption.
  SnapshotMeta bad{.index = LogIndex(1), .term = Term(1),
                   .conf = {.voters = {NodeId(1), NodeId(2)}, .learners = {NodeId(2)}}};
  EXPECT_EQ(decode_snapshot_meta(encode_snapshot_meta(bad)).status().code(), Errc::corruption);
  bad.conf = {.voters = {NodeId(2), NodeId(1)}, .learners = {}};
  EXPECT_EQ(decode_snapshot_meta(encode_snapshot_meta(bad)).status().code(), Errc::corruption);
  EXPECT_EQ(decode_entry(std::string("\x01\x01\x05\x00", 4), LogIndex(1)).status().code(),
            Errc::corruption) << "unknown entry type";
}

}  // namespace
}  // namespace tessera::raft
