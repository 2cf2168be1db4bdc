#pragma once
// Stream administration on the name shard: removing a topic, growing its
// partition count, setting the stream's retention (Kafka's DeleteTopics,
// CreatePartitions and AlterConfigs). Each is one deterministic command;
// partition shards are made and released by the server around it
// (server/stream_router.h).
//
// Accounting follows stream removal (purge_stream): a removed topic's
// reported bytes leave the stream's size and the volume's stream usage, its
// partitions' grants leave streams_granted.

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

// RemoveTopicOp. Needs write on the stream; not_found "PATH:TOPIC: no such
// topic" when it has none. result.shards: the topic's partition shards, for
// the caller to release; result.inode: the stream after.
Status apply_remove_topic(VolumeTxn& txn, const internal::Command& cmd,
                          internal::CommandResult& result);

// AddPartitionsOp. Needs write on the stream. Appends partitions
// current.. held by op.shards (partition shards already made); existing
// partitions keep their shards, bytes and grants. invalid_argument without
// shards or past kPartitionsMax; failed_precondition when the topic no
// longer has `current` partitions (grown meanwhile: nothing changes, the
// caller releases its shards). result.inode: the stream after.
Status apply_add_partitions(VolumeTxn& txn, const internal::Command& cmd,
                            internal::CommandResult& result);

// SetRetentionOp. Needs the admin right on the stream (as chmod does).
// Sets the fields whose set_ flag is on (0 = no limit); a negative age is
// invalid_argument, as at creation. Partition shards apply the settings at
// the next retention run. result.inode: the stream after.
Status apply_set_retention(VolumeTxn& txn, const internal::Command& cmd,
                           internal::CommandResult& result);

}  // namespace tessera::ns
