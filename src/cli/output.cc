#include "cli/output.h"

#include <ctime>
#include <map>

#include "client/units.h"

namespace tessera::cli {

std::string_view kind_name(v1::ObjectKind kind) {
  switch (kind) {
    case v1::KIND_DIRECTORY: return "directory";
    case v1::KIND_FILE: return "file";
    case v1::KIND_TABLE: return "table";
    case v1::KIND_STREAM: return "stream";
    case v1::KIND_SYMLINK: return "symlink";
    case v1::KIND_VOLUME: return "volume";
    default: return "unknown";
  }
}

namespace {

char kind_char(v1::ObjectKind kind) {
  switch (kind) {
    case v1::KIND_DIRECTORY: return 'd';
    case v1::KIND_FILE: return '-';
    case v1::KIND_TABLE: return 't';
    case v1::KIND_STREAM: return 's';
    case v1::KIND_SYMLINK: return 'l';
    case v1::KIND_VOLUME: return 'v';
    default: return '?';
  }
}

}  // namespace

std::string mode_string(v1::ObjectKind kind, uint32_t mode, bool has_acl) {
  std::string s(10, '-');
  s[0] = kind_char(kind);
  static constexpr char kLetters[] = "rwx";
  for (int i = 0; i < 9; ++i) {
    if (mode & (0400u >> i)) s[static_cast<size_t>(i + 1)] = kLetters[i % 3];
  }
  // Special bits share the execute column: lower case when x is also set.
  auto special = [&](size_t col, uint32_t bit, char set_with_x) {
    if (!(mode & bit)) return;
    bool x = s[col] == 'x';
    s[col] = x ? set_with_x : static_cast<char>(set_with_x - 'a' + 'A');
  };
  special(3, 04000, 's');
  special(6, 02000, 's');
  special(9, 01000, 't');
  if (has_acl) s += '+';
  return s;
}

std::string mode_string(const v1::Stat& st) {
  return mode_string(st.kind(), st.mode(), st.has_acl());
}

std::string format_time_ms(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (localtime_r(&t, &tm) == nullptr) return "?";
  char buf[32];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
  return std::string(buf, n);
}

std::string_view base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || path.size() == 1) return path;
  return path.substr(slash + 1);
}

void TextTable::align_right(size_t column) {
  if (right_.size() <= column) right_.resize(column + 1, false);
  right_[column] = true;
}

void TextTable::add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

std::string TextTable::render() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      bool last = c + 1 == row.size();
      size_t pad = width[c] - row[c].size();
      bool right = c < right_.size() && right_[c];
      if (right) line.append(pad, ' ');
      line += row[c];
      if (!last) line.append((right ? 0 : pad) + gap_, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

std::string render_fields(const Fields& fields) {
  size_t w = 0;
  for (const auto& [label, value] : fields) w = std::max(w, label.size());
  std::string out;
  for (const auto& [label, value] : fields) {
    out += label;
    out += ':';
    if (!value.empty()) {
      out.append(w - label.size() + 1, ' ');
      out += value;
    }
    out += '\n';
  }
  return out;
}

Fields stat_fields(const v1::Stat& st) {
  Fields f{
      {"path", st.path()},
      {"kind", std::string(kind_name(st.kind()))},
      {"mode", client::format_mode_octal(st.mode()) + " (" + mode_string(st) + ")"},
      {"owner", st.owner()},
      {"group", st.group()},
      {"size", std::to_string(st.size())},
      {"inode", std::to_string(st.inode())},
      {"nlink", std::to_string(st.nlink())},
      {"version", std::to_string(st.version())},
      {"mtime", format_time_ms(st.mtime_ms())},
      {"ctime", format_time_ms(st.ctime_ms())},
      {"volume", st.volume()},
      {"acl", st.has_acl() ? "yes" : "no"},
  };
  if (st.kind() == v1::KIND_SYMLINK) f.emplace_back("target", st.symlink_target());
  if (st.kind() == v1::KIND_TABLE) f.emplace_back("rows", std::to_string(st.rows()));
  if (st.kind() == v1::KIND_STREAM) {
    f.emplace_back("topics", std::to_string(st.topics()));
    f.emplace_back("retention age", st.retention_age_ms() == 0
                                        ? "forever"
                                        : client::format_duration(st.retention_age_ms()));
    f.emplace_back("retention bytes", st.retention_bytes() == 0
                                          ? "unlimited"
                                          : client::format_size(st.retention_bytes()));
  }
  return f;
}

Fields status_fields(const v1::StatusResponse& s) {
  return {
      {"node", s.node_id()},
      {"version", s.version()},
      {"data dir", s.data_dir()},
      {"grpc", s.grpc_addr()},
      {"http", s.http_addr()},
      {"uptime", client::format_duration(s.uptime_ms() / 1000 * 1000)},
      {"shards", std::to_string(s.shards())},
      {"volumes", std::to_string(s.volumes())},
      {"files", client::format_size(s.files_bytes())},
      {"tables", client::format_size(s.tables_bytes())},
      {"streams", client::format_size(s.streams_bytes())},
  };
}

std::vector<std::string> long_list_row(const v1::Stat& st, std::string name) {
  if (st.kind() == v1::KIND_SYMLINK) name += " -> " + st.symlink_target();
  return {mode_string(st),
          st.owner(),
          st.group(),
          std::to_string(st.size()),
          format_time_ms(st.mtime_ms()),
          std::move(name)};
}

Json stat_json(const v1::Stat& st) {
  return Json{
      {"path", st.path()},
      {"kind", kind_name(st.kind())},
      {"inode", st.inode()},
      {"mode", st.mode()},
      {"mode_octal", client::format_mode_octal(st.mode())},
      {"permissions", mode_string(st)},
      {"owner", st.owner()},
      {"group", st.group()},
      {"size", st.size()},
      {"mtime_ms", st.mtime_ms()},
      {"ctime_ms", st.ctime_ms()},
      {"nlink", st.nlink()},
      {"version", st.version()},
      {"symlink_target", st.symlink_target()},
      {"volume", st.volume()},
      {"has_acl", st.has_acl()},
      {"retention_age_ms", st.retention_age_ms()},
      {"retention_bytes", st.retention_bytes()},
      {"topics", st.topics()},
      {"rows", st.rows()},
  };
}

Json acl_entry_json(const v1::AclEntry& e) {
  return Json{{"deny", e.deny()},   {"principal_type", e.principal_type()},
              {"name", e.name()},   {"read", e.read()},
              {"write", e.write()}, {"admin", e.admin()}};
}

Json row_json(const v1::Row& row) {
  Json doc = Json::parse(row.document(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) doc = row.document();
  return Json{{"key", row.key()}, {"document", std::move(doc)}, {"version", row.version()}};
}

Json record_json(const v1::Record& rec, uint32_t partition) {
  Json headers = Json::object();
  for (const auto& h : rec.headers()) headers[h.key()] = h.value();
  return Json{{"key", rec.key().empty() ? Json(nullptr) : Json(rec.key())},
              {"value", rec.value()},
              {"partition", partition},
              {"offset", rec.offset()},
              {"timestamp", rec.timestamp_ms()},
              {"headers", std::move(headers)}};
}

Json volume_json(const v1::Volume& v) {
  return Json{{"path", v.path()},
              {"id", v.id()},
              {"quota_bytes", v.quota_bytes()},
              {"used_bytes", v.used_bytes()},
              {"replication", v.replication()},
              {"shard", v.shard()}};
}

Json user_json(const v1::User& u) {
  return Json{{"name", u.name()},
              {"uid", u.uid()},
              {"groups", std::vector<std::string>(u.groups().begin(), u.groups().end())},
              {"admin", u.admin()}};
}

Json node_json(const v1::Node& n) {
  Json labels = Json::object();
  for (const auto& [k, v] : std::map<std::string, std::string>(n.labels().begin(), n.labels().end())) {
    labels[k] = v;
  }
  return Json{{"id", n.id()},
              {"address", n.address()},
              {"state", n.state()},
              {"labels", labels},
              {"joined_ms", n.joined_ms()}};
}

std::string labels_text(const google::protobuf::Map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : std::map<std::string, std::string>(labels.begin(), labels.end())) {
    if (!out.empty()) out += ',';
    out += k + "=" + v;
  }
  return out.empty() ? "-" : out;
}

Json topic_json(const v1::TopicInfo& t) {
  return Json{
      {"name", t.name()},
      {"partitions", t.partitions()},
      {"start_offsets", std::vector<uint64_t>(t.start_offsets().begin(), t.start_offsets().end())},
      {"end_offsets", std::vector<uint64_t>(t.end_offsets().begin(), t.end_offsets().end())}};
}

Json status_json(const v1::StatusResponse& s) {
  return Json{{"node_id", s.node_id()},
              {"version", s.version()},
              {"data_dir", s.data_dir()},
              {"grpc_addr", s.grpc_addr()},
              {"http_addr", s.http_addr()},
              {"uptime_ms", s.uptime_ms()},
              {"shards", s.shards()},
              {"volumes", s.volumes()},
              {"files_bytes", s.files_bytes()},
              {"tables_bytes", s.tables_bytes()},
              {"streams_bytes", s.streams_bytes()}};
}

std::string json_dump(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace tessera::cli
