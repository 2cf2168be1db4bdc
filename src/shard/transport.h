#pragma once
// Transport: how a node's shard host reaches the shard replicas on other
// nodes. The shard host depends only on this interface; the gRPC
// implementation lives in src/transport, and tests use an in-process one.
//
// Delivery is best effort: a message may be dropped, delayed or duplicated,
// and raft retransmits. Messages to one peer are sent in the order queued.

#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "raft/types.h"

namespace tessera::shard {

using raft::NodeId;

// A stream of snapshot chunks, pulled by its consumer. next() fills `chunk`
// and returns true, or returns false at the end of the stream.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual Result<bool> next(std::string& chunk) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Queues one encoded batch of raft messages for `to`. Never blocks: drops
  // the batch when `to` has no known address or its queue is full.
  virtual void send(NodeId to, std::string batch) = 0;

  // Streams a snapshot to `to`: `header`, then the chunks of `source` until it
  // ends. `done` runs once, on a transport thread, with the receiver's answer
  // (or the transport's error).
  virtual void send_snapshot(NodeId to, std::string header, std::unique_ptr<ChunkSource> source,
                             std::function<void(Status)> done) = 0;
};

// What a transport delivers to the local node.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // One encoded batch of raft messages. Called on transport threads; must
  // not block for long.
  virtual void on_raft(std::string batch) = 0;
  // One incoming snapshot: the handler pulls every chunk from `chunks`; the
  // returned status goes back to the sender.
  virtual Status on_snapshot(const std::string& header, ChunkSource& chunks) = 0;
};

}  // namespace tessera::shard
