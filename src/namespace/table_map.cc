#include "namespace/table_map.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "namespace/keys.h"
#include "namespace/row_ops.h"
#include "namespace/table_ops.h"

namespace tessera::ns {

using internal::Command;
using internal::CommandResult;
using internal::Inode;
using internal::Principal;
using internal::TabletRef;
using tessera::v1::ObjectKind;

namespace {

// What a tablet counts toward tablets_granted and the quota: its grant, but
// at least the bytes it reported (a grant may lag behind a report).
uint64_t counted(const TabletRef& t) { return std::max(t.grant(), t.bytes()); }

// `total` with its part `from` replaced by `to`, never below zero.
uint64_t replaced(uint64_t total, uint64_t from, uint64_t to) {
  return total - std::min(total, from) + to;
}

// "table inode I tablet START.. on shard S": a map entry, for messages.
std::string entry_subject(uint64_t ino, std::string_view start_key, uint64_t shard) {
  return "table inode " + std::to_string(ino) + " tablet " + shown_key(start_key) +
         ".. on shard " + std::to_string(shard);
}

// Calls fn(key, tablet) for every entry of the map of table `ino`, in key order.
Status for_each_tablet(const storage::StateReader& state, uint64_t ino,
                       const std::function<void(std::string_view, TabletRef&&)>& fn) {
  const std::string prefix = tablet_map_prefix(ino);
  return scan_parsed<TabletRef>(
      state, prefix, prefix_successor(prefix),
      [&](std::string_view k) {
        return "table inode " + std::to_string(ino) + " tablet map entry " +
               shown_key(k.substr(prefix.size()));
      },
      [&](std::string_view k, TabletRef&& ref) {
        fn(k, std::move(ref));
        return true;
      });
}

// The table inode `ino`; not_found naming `subject` when it is gone (or
// the inode is no longer a table).
Result<Inode> load_table(const VolumeView& view, uint64_t ino, const std::string& subject) {
  TESSERA_ASSIGN_OR_RETURN(auto node, view.inode(ino));
  if (!node || node->kind() != ObjectKind::KIND_TABLE) return error(Errc::not_found, subject);
  return *std::move(node);
}

// Whether table `ino` has a tablet map (else its rows are in the volume shard).
Result<bool> has_tablet_map(const VolumeView& view, uint64_t ino) {
  TESSERA_ASSIGN_OR_RETURN(auto first, view.state().get(tablet_map_key(ino, "")));
  return first.has_value();
}

// The map entry a usage report or grant request names, with its table.
struct NamedTablet {
  Inode table;
  std::string key;  // the entry's state key
  TabletRef ref;
  std::string subject;
};

// not_found when the table is gone; kFailedPrecondition when its map has
// no entry at start_key on `shard`.
Result<NamedTablet> load_tablet(const VolumeView& view, uint64_t ino, const std::string& start_key,
                                uint64_t shard) {
  NamedTablet nt;
  nt.subject = entry_subject(ino, start_key, shard);
  TESSERA_ASSIGN_OR_RETURN(nt.table, load_table(view, ino, nt.subject));
  nt.key = tablet_map_key(ino, start_key);
  TESSERA_ASSIGN_OR_RETURN(auto ref, load_record<TabletRef>(view.state(), nt.key, nt.subject));
  if (!ref) {
    return Status(kFailedPrecondition, nt.subject + ": the table's tablet map has no tablet there");
  }
  if (ref->shard() != shard) {
    return Status(kFailedPrecondition, nt.subject + ": the table's tablet map has shard " +
                                           std::to_string(ref->shard()) + " there");
  }
  nt.ref = *std::move(ref);
  return nt;
}

// Stores `after` as nt's entry; tablets_granted follows what it counts.
void store_tablet(VolumeTxn& txn, NamedTablet& nt, const TabletRef& after) {
  auto& vol = txn.vol();
  vol.set_tablets_granted(replaced(vol.tablets_granted(), counted(nt.ref), counted(after)));
  txn.writer().put(nt.key, after.SerializeAsString());
  nt.ref = after;
}

// Moves the table's size and rows and the volume's usage from what
// `before` reported to what `after` reports.
void move_usage(VolumeTxn& txn, Inode& table, const TabletRef& before, const TabletRef& after,
                int64_t now_ms) {
  resize_reported(table, before.bytes(), after.bytes(), now_ms);
  table.set_rows(replaced(table.rows(), before.rows(), after.rows()));
  txn.put_inode(table);
  txn.account(UsageKind::tables,
              static_cast<int64_t>(after.bytes()) - static_cast<int64_t>(before.bytes()));
  auto& vol = txn.vol();
  vol.set_tablets_bytes(replaced(vol.tablets_bytes(), before.bytes(), after.bytes()));
}

// The quota held by everything but the tablet `self`: files, rows kept in
// the volume shard, streams by grant, every other tablet as counted().
uint64_t quota_besides(const internal::VolumeState& vol, const TabletRef& self) {
  const uint64_t legacy_tables =
      vol.tables_bytes() - std::min(vol.tables_bytes(), vol.tablets_bytes());
  return vol.files_bytes() + legacy_tables + std::max(vol.streams_bytes(), vol.streams_granted()) +
         replaced(vol.tablets_granted(), counted(self), 0);
}

}  // namespace

Result<TableTablets> open_table(const VolumeView& view, const Principal& who,
                                std::string_view path, int want) {
  TableTablets t;
  TESSERA_ASSIGN_OR_RETURN(t.table, view.resolve_kind(path, who, ObjectKind::KIND_TABLE, want));
  TESSERA_TRY(for_each_tablet(view.state(), t.table.inode.id(),
                              [&](std::string_view, TabletRef&& ref) {
                                t.tablets.push_back(std::move(ref));
                              }));
  if (!t.tablets.empty() && !t.tablets.front().start_key().empty()) {
    return Status(Errc::corruption, std::string(path) + ": tablet map without a first tablet");
  }
  return t;
}

size_t tablet_index(const std::vector<TabletRef>& tablets, std::string_view key) {
  TESSERA_ASSERT(!tablets.empty());
  auto after = std::upper_bound(tablets.begin(), tablets.end(), key,
                                [](std::string_view k, const TabletRef& t) {
                                  return k < std::string_view(t.start_key());
                                });
  return after == tablets.begin() ? 0 : static_cast<size_t>(after - tablets.begin()) - 1;
}

void put_first_tablet(VolumeTxn& txn, uint64_t table_ino, uint64_t shard) {
  TabletRef ref;
  ref.set_shard(shard);
  txn.writer().put(tablet_map_key(table_ino, ""), ref.SerializeAsString());
}

Status apply_tablet_map(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.tablet_map();
  const std::string subject = entry_subject(op.table_ino(), op.start_key(), op.shard());
  if (op.start_key().empty()) {
    return Status(Errc::invalid_argument, subject + ": the first tablet of a table never moves");
  }
  TESSERA_TRY(check_row_key(subject, op.start_key()));
  if (op.shard() == 0) return Status(Errc::invalid_argument, subject + ": no tablet shard");
  TESSERA_ASSIGN_OR_RETURN(auto table, load_table(txn, op.table_ino(), subject));
  TESSERA_ASSIGN_OR_RETURN(bool mapped, has_tablet_map(txn, op.table_ino()));
  if (!mapped) {
    return Status(kFailedPrecondition, subject + ": the table keeps its rows in the volume shard");
  }
  const std::string key = tablet_map_key(op.table_ino(), op.start_key());
  TESSERA_ASSIGN_OR_RETURN(auto have, load_record<TabletRef>(txn.state(), key, subject));
  *result.mutable_inode() = table;
  if (have && have->shard() == op.shard()) return Status::ok();  // a retry
  if (have) {
    return Status(kFailedPrecondition, subject + ": the table's tablet map has shard " +
                                           std::to_string(have->shard()) + " there");
  }
  TabletRef ref;
  ref.set_start_key(op.start_key());
  ref.set_shard(op.shard());
  txn.writer().put(key, ref.SerializeAsString());
  return Status::ok();
}

Status apply_table_usage(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.table_usage();
  TESSERA_ASSIGN_OR_RETURN(auto nt, load_tablet(txn, op.table_ino(), op.start_key(), op.shard()));
  TabletRef after = nt.ref;
  // A lower grant: the tablet shrank its grant first; the rest is given back.
  if (op.grant() != 0 && op.grant() < after.grant()) after.set_grant(op.grant());
  after.set_bytes(op.bytes());
  after.set_rows(op.rows());
  if (after.bytes() != nt.ref.bytes() || after.rows() != nt.ref.rows()) {
    move_usage(txn, nt.table, nt.ref, after, cmd.now_ms());
  }
  if (after.SerializeAsString() != nt.ref.SerializeAsString()) store_tablet(txn, nt, after);
  *result.mutable_inode() = nt.table;
  return Status::ok();
}

Status apply_table_grant(VolumeTxn& txn, const Command& cmd, CommandResult& result) {
  const auto& op = cmd.table_grant();
  TESSERA_ASSIGN_OR_RETURN(auto nt, load_tablet(txn, op.table_ino(), op.start_key(), op.shard()));
  const auto& vol = txn.vol();
  if (vol.quota_bytes() == 0) {
    result.mutable_tablet()->set_grant(std::numeric_limits<uint64_t>::max());
    return Status::ok();
  }
  // The tablet holds counted() of the quota already: up to that it needs
  // nothing more from the others.
  TESSERA_ASSIGN_OR_RETURN(
      const uint64_t grant,
      next_volume_grant(vol, quota_besides(vol, nt.ref), counted(nt.ref), op.held(), op.want(),
                        nt.subject));
  result.mutable_tablet()->set_grant(grant);
  if (grant != nt.ref.grant()) {
    TabletRef after = nt.ref;
    after.set_grant(grant);
    store_tablet(txn, nt, after);
  }
  return Status::ok();
}

Status purge_tablets(VolumeTxn& txn, const Inode& table, std::vector<uint64_t>* released) {
  std::vector<std::string> keys;
  uint64_t bytes = 0;
  uint64_t granted = 0;
  TESSERA_TRY(for_each_tablet(txn.state(), table.id(), [&](std::string_view k, TabletRef&& ref) {
    if (released && ref.shard() != 0) released->push_back(ref.shard());
    bytes += ref.bytes();
    granted += counted(ref);
    keys.emplace_back(k);
  }));
  for (const auto& k : keys) txn.writer().del(k);
  auto& vol = txn.vol();
  vol.set_tablets_granted(replaced(vol.tablets_granted(), granted, 0));
  vol.set_tablets_bytes(replaced(vol.tablets_bytes(), bytes, 0));
  txn.account(UsageKind::tables, -static_cast<int64_t>(bytes));
  return Status::ok();
}

Status purge_table_data(VolumeTxn& txn, const Inode& table, std::vector<uint64_t>* released) {
  TESSERA_ASSIGN_OR_RETURN(bool mapped, has_tablet_map(txn, table.id()));
  if (mapped) return purge_tablets(txn, table, released);
  return purge_table(txn, table);
}

}  // namespace tessera::ns
