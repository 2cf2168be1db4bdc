#include "namespace/row_ops.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/coding.h"
#include "namespace/volume_store.h"

namespace tessera::ns {

using internal::RowValue;
using nlohmann::json;
using tessera::v1::RowOp;

namespace {

// Steps in one batch; each may carry a document of kDocumentBytesMax.
constexpr int kRowOpsMax = 1000;
// Nesting of objects and arrays in a document. Serialising and copying a
// document recurse once per level, so apply must not meet unbounded depth.
constexpr int kDocumentDepthMax = 128;
// Bytes of a key shown in an error message.
constexpr size_t kShownKeyBytesMax = 64;

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

std::string encode_page_token(std::string_view key) {
  std::string out;
  out.reserve(key.size() * 2);
  for (char ch : key) {
    auto c = static_cast<unsigned char>(ch);
    out.push_back(kHexDigits[c >> 4]);
    out.push_back(kHexDigits[c & 15]);
  }
  return out;
}

namespace {

std::optional<std::string> decode_token(std::string_view token) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (token.size() % 2 != 0 || token.size() / 2 > kRowKeyBytesMax) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < token.size(); i += 2) {
    int hi = nibble(token[i]);
    int lo = nibble(token[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

// Parses `text` as a JSON object of at most kDocumentBytesMax bytes and
// kDocumentDepthMax levels; `what` names the text in errors ("document").
Result<json> parse_object(std::string_view text, std::string_view path, std::string_view what) {
  if (text.size() > kDocumentBytesMax) {
    return Status(Errc::too_large, std::string(path) + ": " + std::string(what) + " is " +
                                       std::to_string(text.size()) + " bytes, more than " +
                                       std::to_string(kDocumentBytesMax));
  }
  auto invalid = [&](std::string_view reason) {
    return Status(Errc::invalid_argument, std::string(path) + ": " + std::string(what) +
                                              " is not a JSON object: " + std::string(reason));
  };
  int depth = 0;
  auto track_depth = [&depth](int level, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) {
      depth = std::max(depth, level + 1);
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), track_depth);
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number beyond double; what() is
    // "[json.exception.KIND.N] text".
    std::string_view reason = e.what();
    if (auto pos = reason.find("] "); pos != std::string_view::npos) reason.remove_prefix(pos + 2);
    return invalid(reason.substr(0, 200));
  }
  if (!doc.is_object()) return invalid(std::string("got ") + doc.type_name());
  if (depth > kDocumentDepthMax) {
    return invalid("nested deeper than " + std::to_string(kDocumentDepthMax) + " levels");
  }
  return doc;
}

// One row while a batch is applied to it in memory.
struct RowState {
  bool exists = false;
  // Last version the row had; keeps counting across a delete in the batch.
  uint64_t version = 0;
  std::string document;       // valid unless `object` is set
  std::optional<json> object;  // the document, once an update parsed it

  uint64_t visible_version() const { return exists ? version : 0; }
};

Status check_version(uint64_t want, const RowState& row, std::string_view subject) {
  if (want == 0 || want == row.visible_version()) return Status::ok();
  return Status(Errc::version_mismatch,
                std::string(subject) + ": expected version " + std::to_string(want) +
                    ", row is at version " + std::to_string(row.visible_version()) +
                    (row.exists ? "" : " (missing)"));
}

// Applies one step to `row` in memory.
Status apply_step(const RowOp& op, const std::optional<json>& set, RowState& row,
                  std::string_view subject) {
  switch (op.op_case()) {
    case RowOp::kPut: {
      const auto& put = op.put();
      if (put.if_absent() && row.exists) return error(Errc::already_exists, subject);
      TESSERA_TRY(check_version(put.if_version(), row, subject));
      row.document = put.document();
      row.object.reset();
      break;
    }
    case RowOp::kUpdate: {
      const auto& update = op.update();
      TESSERA_TRY(check_version(update.if_version(), row, subject));
      if (!row.exists && !update.create()) return error(Errc::not_found, subject);
      if (!row.object) {
        if (row.exists) {
          auto stored = parse_object(row.document, subject, "stored document");
          if (!stored.is_ok()) return Status(Errc::corruption, stored.status().message());
          row.object = std::move(stored).value();
        } else {
          row.object = json::object();
        }
      }
      // `set` first, then `remove`: a field named in both ends up absent.
      for (const auto& [field, value] : set->items()) (*row.object)[field] = value;
      for (const std::string& field : update.remove()) row.object->erase(field);
      break;
    }
    case RowOp::kDelete: {
      TESSERA_TRY(check_version(op.delete_().if_version(), row, subject));
      if (!row.exists) return error(Errc::not_found, subject);
      row.document.clear();
      row.object.reset();
      row.exists = false;
      ++row.version;
      return Status::ok();
    }
    case RowOp::OP_NOT_SET: TESSERA_ASSERT_MSG(false, "validated before apply");
  }
  row.exists = true;
  ++row.version;
  return Status::ok();
}

}  // namespace

std::string shown_key(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size() && i < kShownKeyBytesMax; ++i) {
    auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 15]);
    }
  }
  if (key.size() > kShownKeyBytesMax) out += "...";
  return out;
}

std::string row_subject(std::string_view path, std::string_view key) {
  return std::string(path) + ": row " + shown_key(key);
}

Status check_row_key(std::string_view path, std::string_view key) {
  if (key.empty() || key.size() > kRowKeyBytesMax) {
    return Status(Errc::invalid_argument, std::string(path) + ": row key must be 1.." +
                                              std::to_string(kRowKeyBytesMax) + " bytes, got " +
                                              std::to_string(key.size()));
  }
  return Status::ok();
}

struct RowSteps::Sets {
  std::vector<std::optional<json>> by_step;
};

RowSteps::RowSteps(const internal::RowBatchOp& batch, std::unique_ptr<Sets> sets)
    : batch_(&batch), sets_(std::move(sets)) {}
RowSteps::RowSteps(RowSteps&&) noexcept = default;
RowSteps& RowSteps::operator=(RowSteps&&) noexcept = default;
RowSteps::~RowSteps() = default;

Result<RowSteps> RowSteps::check(const internal::RowBatchOp& batch) {
  const std::string& path = batch.path();
  if (batch.ops_size() == 0) return Status(Errc::invalid_argument, path + ": empty row batch");
  if (batch.ops_size() > kRowOpsMax) {
    return Status(Errc::invalid_argument, path + ": row batch has " +
                                              std::to_string(batch.ops_size()) +
                                              " steps, more than " + std::to_string(kRowOpsMax));
  }
  auto sets = std::make_unique<Sets>();
  for (const RowOp& op : batch.ops()) {
    switch (op.op_case()) {
      case RowOp::kPut: {
        auto doc = parse_object(op.put().document(), path, "document");
        if (!doc.is_ok()) return doc.status();
        sets->by_step.emplace_back();
        break;
      }
      case RowOp::kUpdate: {
        const std::string& set = op.update().set();
        if (set.empty()) {
          sets->by_step.emplace_back(json::object());
        } else {
          TESSERA_ASSIGN_OR_RETURN(auto obj, parse_object(set, path, "update set"));
          sets->by_step.emplace_back(std::move(obj));
        }
        break;
      }
      case RowOp::kDelete: sets->by_step.emplace_back(); break;
      case RowOp::OP_NOT_SET:
        return Status(Errc::invalid_argument, path + ": row batch step without an operation");
    }
  }
  return RowSteps(batch, std::move(sets));
}

Result<RowChange> RowSteps::apply(std::optional<RowValue> stored, std::string_view subject) const {
  const std::string& key = batch_->key();
  RowState row;
  RowChange change;
  if (stored) {
    change.existed = true;
    change.old_bytes = row_bytes(key, *stored);
    row.exists = true;
    row.version = stored->version();
    row.document = std::move(*stored->mutable_document());
  }
  for (int i = 0; i < batch_->ops_size(); ++i) {
    TESSERA_TRY(apply_step(batch_->ops(i), sets_->by_step[static_cast<size_t>(i)], row, subject));
  }
  if (row.object) {
    row.document = row.object->dump();
    row.object.reset();
    if (row.document.size() > kDocumentBytesMax) {
      return Status(Errc::too_large, std::string(subject) + ": updated document is " +
                                         std::to_string(row.document.size()) +
                                         " bytes, more than " + std::to_string(kDocumentBytesMax));
    }
  }
  change.exists = row.exists;
  change.row.set_version(row.version);
  if (row.exists) {
    change.row.set_document(std::move(row.document));
    change.new_bytes = row_bytes(key, change.row);
  }
  return change;
}

void store_row(storage::StateWriter& state, std::string_view state_key, const RowChange& change) {
  if (change.exists) {
    state.put(state_key, change.row.SerializeAsString());
  } else {
    state.del(state_key);
  }
}

void report_row(std::string_view key, const RowChange& change, internal::CommandResult& result) {
  result.mutable_row()->set_key(std::string(key));
  if (change.exists) {
    result.mutable_row()->set_document(change.row.document());
    result.mutable_row()->set_version(change.row.version());
  } else {
    result.set_deleted(true);
  }
}

Result<tessera::v1::ScanResponse> scan_stored_rows(const storage::StateReader& state,
                                                   std::string_view prefix, KeyRange range,
                                                   const tessera::v1::ScanRequest& req,
                                                   std::string_view path) {
  const uint32_t limit =
      req.limit() == 0 ? kScanLimitDefault : std::min(req.limit(), kScanLimitMax);

  // Row keys in [lower, upper); empty upper = no bound.
  std::string lower = std::max({req.start(), req.prefix(), std::string(range.start)});
  if (!req.page_token().empty()) {
    auto last = decode_token(req.page_token());
    if (!last) return Status(Errc::invalid_argument, std::string(path) + ": bad page token");
    last->push_back('\0');
    lower = std::max(lower, *last);
  }
  std::string upper(range.end);
  auto bound_upper = [&upper](const std::string& bound) {
    if (!bound.empty() && (upper.empty() || bound < upper)) upper = bound;
  };
  bound_upper(req.end());
  if (!req.prefix().empty()) bound_upper(prefix_successor(req.prefix()));
  tessera::v1::ScanResponse resp;
  if (!upper.empty() && lower >= upper) return resp;

  const std::string first = std::string(prefix) + lower;
  const std::string end =
      upper.empty() ? prefix_successor(prefix) : std::string(prefix) + upper;
  size_t bytes = 0;
  bool more = false;
  Status inner;
  TESSERA_TRY(state.scan(first, end, [&](std::string_view k, std::string_view v) {
    std::string_view key = k.substr(prefix.size());
    if (static_cast<uint32_t>(resp.rows_size()) >= limit) {
      more = true;
      return false;
    }
    auto stored = parse_record<RowValue>(v, row_subject(path, key));
    if (!stored.is_ok()) {
      inner = stored.status();
      return false;
    }
    const size_t size = row_bytes(key, *stored);
    if (resp.rows_size() > 0 && bytes + size > kScanBytesMax) {
      more = true;
      return false;
    }
    bytes += size;
    tessera::v1::Row* row = resp.add_rows();
    row->set_key(std::string(key));
    row->set_version(stored->version());
    row->set_document(std::move(*stored->mutable_document()));
    return true;
  }));
  TESSERA_TRY(inner);
  if (more) resp.set_next_page_token(encode_page_token(resp.rows(resp.rows_size() - 1).key()));
  return resp;
}

}  // namespace tessera::ns
