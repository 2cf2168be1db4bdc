#pragma once
// Tables over tablet shards, name shard side. A table is an inode of kind
// TABLE; its rows live in tablet shards (tablet_ops.h), each holding one key
// range. The name shard keeps the table's permissions and its *tablet map*:
//   K ino(8) start_key                  TabletRef (shard, bytes, rows, grant)
// tablet i holds keys [start_key(i), start_key(i+1)); the first starts at "".
// A table created with CreateObjectOp.tablet_shard gets the one-entry map
// {"" → tablet_shard}; a table without a map (made before tablets existed)
// keeps its rows in the volume shard (table_ops.h).
//
// Usage reaches the name shard as reports from each tablet's leader
// (TableUsageOp): the table inode's size and rows and the volume's
// tables_bytes/tablets_bytes/used_bytes move by the change since the last
// report. The volume quota reaches tablets as grants (TableGrantOp), counted
// in VolumeState.tablets_granted, as for stream partitions (stream_ops.h).
// tablets_granted is the sum over the map entries of max(grant, bytes): each
// tablet counts at least the bytes it reported, so tablets_granted >=
// tablets_bytes, and check_quota counts tables over tablets by it.
//
// The commands below name no path (a table inode has no name of its own):
// their messages name the entry, "table inode I tablet START.. on shard S".
// "failed_precondition" below is kFailedPrecondition (volume_store.h).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

// A table resolved with the wanted right, and its tablet map in key order.
// tablets is empty for a table that keeps its rows in the volume shard.
struct TableTablets {
  Resolved table;
  std::vector<internal::TabletRef> tablets;
};

// Resolves the table at `path` (traverse checks on the way, `want` — an
// Access bit set — on the table; wrong_kind for another kind) and loads its
// tablet map (corruption for a map without a tablet at "").
Result<TableTablets> open_table(const VolumeView& view, const internal::Principal& who,
                                std::string_view path, int want);
// The index of the tablet holding `key`: the last whose start_key <= key.
// tablets must not be empty.
size_t tablet_index(const std::vector<internal::TabletRef>& tablets, std::string_view key);

// CreateObjectOp of a table with tablet_shard: its map {"" → shard}.
void put_first_tablet(VolumeTxn& txn, uint64_t table_ino, uint64_t shard);

// TabletMapOp: records that the tablet starting at start_key is on `shard`
// (a split's new tablet), with zero bytes, rows and grant; the same entry
// again changes nothing. Trusted (node principal). not_found when the table
// is gone; invalid_argument for an empty start_key (the first tablet never
// moves), a start_key that is no valid row key, or shard 0;
// failed_precondition for a table without a map (rows in the volume shard)
// or when the map has another shard at start_key. result.inode: the table.
Status apply_tablet_map(VolumeTxn& txn, const internal::Command& cmd,
                        internal::CommandResult& result);
// TableUsageOp: moves the table's and the volume's usage by the change
// since the entry's last report, without a quota refusal (the bytes are
// stored already); with grant != 0 also lowers the entry's grant (and
// tablets_granted) to it. not_found when the table is gone;
// failed_precondition when the map has no entry at start_key for that
// shard (a split's new tablet before the map names it): nothing changes.
// result.inode: the table after.
Status apply_table_usage(VolumeTxn& txn, const internal::Command& cmd,
                         internal::CommandResult& result);
// TableGrantOp: as apply_stream_grant, for the tablet entry: grows its grant
// to held + want plus slack as far as the quota allows (counting files,
// streams by grant, tablets by grant — each tablet at least its reported
// bytes — and legacy tables' bytes), else quota_exceeded naming the table.
// result.tablet.grant: the grant (max uint64 without a quota, and then
// nothing is recorded). The entry counts max(grant, bytes) already, so a
// request within that is granted it without asking the quota. not_found /
// failed_precondition as for usage.
Status apply_table_grant(VolumeTxn& txn, const internal::Command& cmd,
                         internal::CommandResult& result);
// Removes the tablet map of `table`, its reported bytes from the usage and
// its grants from tablets_granted; the tablet shard ids are appended to
// *released (when not null) for the caller to remove.
Status purge_tablets(VolumeTxn& txn, const internal::Inode& table,
                     std::vector<uint64_t>* released);
// Frees the rows of a table being destroyed wherever they are: its tablets
// (purge_tablets) or, for a table without a map, the volume shard's rows
// (purge_table, table_ops.h).
Status purge_table_data(VolumeTxn& txn, const internal::Inode& table,
                        std::vector<uint64_t>* released);

}  // namespace tessera::ns
