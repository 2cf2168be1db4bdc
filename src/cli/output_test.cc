#include "cli/output.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace tessera::cli {
namespace {

TEST(ModeString, KindLetters) {
  EXPECT_EQ(mode_string(v1::KIND_DIRECTORY, 0755, false), "drwxr-xr-x");
  EXPECT_EQ(mode_string(v1::KIND_FILE, 0644, false), "-rw-r--r--");
  EXPECT_EQ(mode_string(v1::KIND_TABLE, 0640, false), "trw-r-----");
  EXPECT_EQ(mode_string(v1::KIND_STREAM, 0600, false), "srw-------");
  EXPECT_EQ(mode_string(v1::KIND_SYMLINK, 0777, false), "lrwxrwxrwx");
  EXPECT_EQ(mode_string(v1::KIND_VOLUME, 0755, false), "vrwxr-xr-x");
  EXPECT_EQ(mode_string(v1::KIND_UNSPECIFIED, 0, false), "?---------");
}

TEST(ModeString, AclAndSpecialBits) {
  EXPECT_EQ(mode_string(v1::KIND_FILE, 0644, true), "-rw-r--r--+");
  EXPECT_EQ(mode_string(v1::KIND_DIRECTORY, 01777, false), "drwxrwxrwt");
  EXPECT_EQ(mode_string(v1::KIND_DIRECTORY, 01776, false), "drwxrwxrwT");
  EXPECT_EQ(mode_string(v1::KIND_FILE, 04755, false), "-rwsr-xr-x");
  EXPECT_EQ(mode_string(v1::KIND_FILE, 02644, false), "-rw-r-Sr--");
  v1::Stat st;
  st.set_kind(v1::KIND_DIRECTORY);
  st.set_mode(0750);
  st.set_has_acl(true);
  EXPECT_EQ(mode_string(st), "drwxr-x---+");
}

TEST(KindName, All) {
  EXPECT_EQ(kind_name(v1::KIND_DIRECTORY), "directory");
  EXPECT_EQ(kind_name(v1::KIND_VOLUME), "volume");
  EXPECT_EQ(kind_name(v1::KIND_UNSPECIFIED), "unknown");
}

TEST(BaseName, Components) {
  EXPECT_EQ(base_name("/a/b"), "b");
  EXPECT_EQ(base_name("/a/b/"), "b");
  EXPECT_EQ(base_name("/a"), "a");
  EXPECT_EQ(base_name("/"), "/");
  EXPECT_EQ(base_name("rel"), "rel");
}

TEST(FormatTime, LongIsoInLocalTime) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(format_time_ms(0), "1970-01-01 00:00");
  EXPECT_EQ(format_time_ms(1'700'000'000'123), "2023-11-14 22:13");
}

TEST(TextTable, AlignsColumns) {
  TextTable t;
  t.align_right(1);
  t.add_row({"NAME", "SIZE", "NOTE"});
  t.add_row({"a", "1024", "x"});
  t.add_row({"longer", "7", ""});
  EXPECT_EQ(t.render(),
            "NAME    SIZE  NOTE\n"
            "a       1024  x\n"
            "longer     7\n");
}

TEST(TextTable, SingleGapAndRaggedRows) {
  TextTable t(1);
  t.add_row({"a", "b"});
  t.add_row({"ccc"});
  EXPECT_EQ(t.render(), "a   b\nccc\n");
  EXPECT_TRUE(TextTable().empty());
}

TEST(Fields, AlignsValues) {
  EXPECT_EQ(render_fields({{"path", "/a"}, {"volume", ""}, {"retention age", "7d"}}),
            "path:          /a\n"
            "volume:\n"
            "retention age: 7d\n");
}

v1::Stat sample_stat() {
  v1::Stat st;
  st.set_path("/apps/events");
  st.set_kind(v1::KIND_STREAM);
  st.set_mode(0640);
  st.set_owner("alice");
  st.set_group("ops");
  st.set_size(4096);
  st.set_retention_age_ms(7 * 86'400'000ll);
  st.set_retention_bytes(10ull << 30);
  st.set_topics(2);
  return st;
}

TEST(StatFields, KindSpecific) {
  Fields f = stat_fields(sample_stat());
  auto find = [&](const std::string& label) {
    for (const auto& [l, v] : f) {
      if (l == label) return v;
    }
    return std::string("<missing>");
  };
  EXPECT_EQ(find("kind"), "stream");
  EXPECT_EQ(find("mode"), "0640 (srw-r-----)");
  EXPECT_EQ(find("retention age"), "7d");
  EXPECT_EQ(find("retention bytes"), "10G");
  EXPECT_EQ(find("topics"), "2");
  EXPECT_EQ(find("rows"), "<missing>");

  v1::Stat link;
  link.set_kind(v1::KIND_SYMLINK);
  link.set_symlink_target("/x");
  Fields lf = stat_fields(link);
  EXPECT_EQ(lf.back(), (std::pair<std::string, std::string>("target", "/x")));
}

TEST(LongListRow, SymlinkArrow) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  v1::Stat st;
  st.set_kind(v1::KIND_SYMLINK);
  st.set_mode(0777);
  st.set_owner("root");
  st.set_group("root");
  st.set_size(2);
  st.set_symlink_target("/b");
  auto row = long_list_row(st, "a");
  std::vector<std::string> want{"lrwxrwxrwx", "root", "root", "2", "1970-01-01 00:00", "a -> /b"};
  EXPECT_EQ(row, want);
}

TEST(Json, Stat) {
  auto j = stat_json(sample_stat());
  EXPECT_EQ(j["path"], "/apps/events");
  EXPECT_EQ(j["kind"], "stream");
  EXPECT_EQ(j["mode"], 0640);
  EXPECT_EQ(j["mode_octal"], "0640");
  EXPECT_EQ(j["permissions"], "srw-r-----");
  EXPECT_EQ(j["retention_bytes"], 10ull << 30);
}

TEST(Json, RowParsesDocument) {
  v1::Row row;
  row.set_key("k1");
  row.set_document(R"({"a":1})");
  row.set_version(3);
  EXPECT_EQ(json_dump(row_json(row)), R"({"key":"k1","document":{"a":1},"version":3})");
  row.set_document("not json");
  EXPECT_EQ(row_json(row)["document"], "not json");
}

TEST(Json, Record) {
  v1::Record rec;
  rec.set_value("hello");
  rec.set_offset(7);
  rec.set_timestamp_ms(1000);
  auto* h = rec.add_headers();
  h->set_key("h");
  h->set_value("v");
  auto j = record_json(rec, 2);
  EXPECT_TRUE(j["key"].is_null());
  EXPECT_EQ(j["value"], "hello");
  EXPECT_EQ(j["partition"], 2);
  EXPECT_EQ(j["offset"], 7);
  EXPECT_EQ(j["timestamp"], 1000);
  EXPECT_EQ(j["headers"]["h"], "v");
  rec.set_key("k");
  EXPECT_EQ(record_json(rec, 0)["key"], "k");
}

TEST(Json, InvalidUtf8IsReplaced) {
  v1::Record rec;
  rec.set_value(std::string("a\xff", 2));
  std::string out = json_dump(record_json(rec, 0));
  EXPECT_NE(out.find("a\xEF\xBF\xBD"), std::string::npos);
}

TEST(Json, Others) {
  v1::User u;
  u.set_name("bob");
  u.set_uid(1001);
  u.add_groups("ops");
  EXPECT_EQ(json_dump(user_json(u)), R"({"name":"bob","uid":1001,"groups":["ops"],"admin":false})");
  v1::TopicInfo t;
  t.set_name("clicks");
  t.set_partitions(2);
  t.add_start_offsets(0);
  t.add_start_offsets(5);
  t.add_end_offsets(10);
  t.add_end_offsets(9);
  EXPECT_EQ(json_dump(topic_json(t)),
            R"({"name":"clicks","partitions":2,"start_offsets":[0,5],"end_offsets":[10,9]})");
  v1::AclEntry e;
  e.set_deny(true);
  e.set_principal_type("group");
  e.set_name("guests");
  e.set_write(true);
  EXPECT_EQ(acl_entry_json(e)["principal_type"], "group");
}

TEST(StatusFields, HumanValues) {
  v1::StatusResponse s;
  s.set_node_id("n1");
  s.set_uptime_ms(3'723'456);
  s.set_files_bytes(1536);
  Fields f = status_fields(s);
  EXPECT_EQ(f[0], (std::pair<std::string, std::string>("node", "n1")));
  EXPECT_EQ(f[5], (std::pair<std::string, std::string>("uptime", "1h2m3s")));
  EXPECT_EQ(f[8], (std::pair<std::string, std::string>("files", "1.5K")));
}

}  // namespace
}  // namespace tessera::cli
