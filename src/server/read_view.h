#pragma once
// ReadView: one consistent snapshot of a path's volume shard and of the meta
// shard, for read requests. Lives on the request's stack. The snapshot is
// taken after a read barrier on the volume's shard, so it holds every write
// acknowledged before the read began (check ready() before using it).
// On a node with no replica of the volume's shard, ready() is a redirect
// (server/redirect.h) to a node that has one. The meta shard is read
// locally: a node without it refuses earlier, in Backend::authenticate.

#include <memory>
#include <string>

#include "cluster/meta_keys.h"
#include "cluster/meta_reader.h"
#include "namespace/volume_store.h"
#include "server/backend.h"

namespace tessera::server {

class ReadView {
 public:
  ReadView(const Backend& backend, const std::string& path)
      : route_(backend.route(path)),
        ready_(backend.read_barrier(route_.shard)),
        snap_(backend.snapshot()),
        vol_reader_(*snap_, route_.shard),
        meta_reader_(*snap_, ShardId(cluster::kMetaShard)),
        view_(vol_reader_),
        meta_(meta_reader_) {}

  const Status& ready() const { return ready_; }
  const Route& route() const { return route_; }
  const ns::VolumeView& view() const { return view_; }
  const cluster::MetaReader& meta() const { return meta_; }

 private:
  Route route_;
  Status ready_;
  std::unique_ptr<storage::Snapshot> snap_;
  storage::SnapshotReader vol_reader_;
  storage::SnapshotReader meta_reader_;
  ns::VolumeView view_;
  cluster::MetaReader meta_;
};

// Reads the volume shard `shard` through `read(const ns::VolumeView&)`,
// which returns a Result. With `barrier`, after a read barrier (a
// linearizable read). Without, from this node's replica as it is, which may
// lag a change made through another node: a refusal is only final once the
// replica caught up (a barrier, then one more read). A node holding no
// replica reads after a barrier, which redirects.
template <typename Read>
auto read_caught_up(Backend& backend, ShardId shard, bool barrier, Read&& read)
    -> decltype(read(std::declval<const ns::VolumeView&>())) {
  if (barrier || !backend.host().has_shard(shard)) TESSERA_TRY(backend.read_barrier(shard));
  for (bool caught_up = barrier;; caught_up = true) {
    auto snap = backend.snapshot();
    storage::SnapshotReader sr(*snap, shard);
    auto got = read(ns::VolumeView(sr));
    if (got.is_ok() || caught_up) return got;
    TESSERA_TRY(backend.read_barrier(shard));
  }
}

}  // namespace tessera::server
