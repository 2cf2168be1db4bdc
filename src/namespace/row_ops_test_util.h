#pragma once
// Builders of row batch steps for the tests of table and tablet rows.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tessera/internal/state.pb.h"

namespace tessera::ns::row_test {

inline tessera::v1::RowOp put_op(std::string doc, bool if_absent = false,
                                 uint64_t if_version = 0) {
  tessera::v1::RowOp op;
  op.mutable_put()->set_document(std::move(doc));
  op.mutable_put()->set_if_absent(if_absent);
  op.mutable_put()->set_if_version(if_version);
  return op;
}

inline tessera::v1::RowOp update_op(std::string set, std::vector<std::string> remove = {},
                                    bool create = false, uint64_t if_version = 0) {
  tessera::v1::RowOp op;
  op.mutable_update()->set_set(std::move(set));
  for (auto& r : remove) op.mutable_update()->add_remove(r);
  op.mutable_update()->set_create(create);
  op.mutable_update()->set_if_version(if_version);
  return op;
}

inline tessera::v1::RowOp delete_op(uint64_t if_version = 0) {
  tessera::v1::RowOp op;
  op.mutable_delete_()->set_if_version(if_version);
  return op;
}

// A RowBatchOp of `ops` on row `key` of the table at `path`.
inline internal::RowBatchOp row_batch(std::string path, std::string key,
                                      std::vector<tessera::v1::RowOp> ops) {
  internal::RowBatchOp batch;
  batch.set_path(std::move(path));
  batch.set_key(std::move(key));
  for (auto& op : ops) *batch.add_ops() = std::move(op);
  return batch;
}

}  // namespace tessera::ns::row_test
