#pragma once
// Pure formatting for the tessera CLI: mode strings, times, aligned text
// tables and the --json shapes of API messages. No I/O, so it is unit-tested
// (output_test.cc).
//
// JSON shapes mirror the proto field names (snake_case) with numbers as JSON
// numbers, except: `kind` is a short name ("file"), Stat adds "mode_octal"
// and "permissions" next to the numeric "mode", rows carry the document as
// parsed JSON, and records use the short names {"key","value","partition",
// "offset","timestamp","headers"}. Bytes fields are strings; invalid UTF-8
// is replaced by U+FFFD when dumped (json_dump).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/v1/tessera.pb.h"

namespace tessera::cli {

// JSON values keep the insertion order of their keys, so output lists
// fields in the order the code builds them.
using Json = nlohmann::ordered_json;

// "directory", "file", "table", "stream", "symlink", "volume", "unknown".
std::string_view kind_name(v1::ObjectKind kind);

// `ls -l` style: kind letter (d - t s l v, '?' unknown), nine permission
// letters with setuid/setgid/sticky as s/S/t/T, and '+' when has_acl.
std::string mode_string(v1::ObjectKind kind, uint32_t mode, bool has_acl);
std::string mode_string(const v1::Stat& st);

// "YYYY-MM-DD HH:MM" in local time (`ls -l --time-style=long-iso`).
std::string format_time_ms(int64_t ms);

// Last component of a path ("/a/b" -> "b"; "/" -> "/").
std::string_view base_name(std::string_view path);

// Columns of text separated by `gap` spaces and padded to the widest cell;
// right-aligned columns suit numbers. Lines carry no trailing spaces.
class TextTable {
 public:
  explicit TextTable(size_t gap = 2) : gap_(gap) {}
  void align_right(size_t column);
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  // One line per row, each ending in '\n'.
  std::string render() const;

 private:
  size_t gap_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// "label: value" lines with values aligned after the longest label.
using Fields = std::vector<std::pair<std::string, std::string>>;
std::string render_fields(const Fields& fields);

// `tessera stat` text: path, kind, mode, owner, ... plus the fields of the
// object's kind (symlink target, table rows, stream retention and topics).
Fields stat_fields(const v1::Stat& st);
// `tessera status` text, with human sizes and uptime.
Fields status_fields(const v1::StatusResponse& s);
// One `ls -l` row: mode, owner, group, size, mtime, name[ -> target].
std::vector<std::string> long_list_row(const v1::Stat& st, std::string name);

Json stat_json(const v1::Stat& st);
Json acl_entry_json(const v1::AclEntry& e);
// {"key","document","version"}; a document that is not valid JSON is kept
// as a string.
Json row_json(const v1::Row& row);
// {"key","value","partition","offset","timestamp","headers":{k: v}}; an
// empty key is null.
Json record_json(const v1::Record& rec, uint32_t partition);
Json volume_json(const v1::Volume& v);
Json user_json(const v1::User& u);
Json topic_json(const v1::TopicInfo& t);
Json status_json(const v1::StatusResponse& s);
// {"id","address","state","labels":{k: v},"joined_ms"}.
Json node_json(const v1::Node& n);
// "k=v,k2=v2" sorted by key; "-" when there are none.
std::string labels_text(const google::protobuf::Map<std::string, std::string>& labels);

// Serialises with invalid UTF-8 replaced; indent < 0 gives one line.
std::string json_dump(const Json& j, int indent = -1);

}  // namespace tessera::cli
