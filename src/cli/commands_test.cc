// The CLI's commands end to end against FakeTessera: argument parsing,
// page-token loops, streaming transfers, batching, consumer offsets, the
// cluster and node commands, output shapes and exit codes.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cli/app.h"
#include "cli/fake_tessera.h"

namespace tessera::cli {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int rc;
  std::string out;
  std::string err;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tessera-cli-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs `tessera args...` with `input` as stdin (a regular file, so every
  // read is ready at once).
  Outcome run(std::vector<std::string> args, const std::string& input = "") {
    std::FILE* in = std::tmpfile();
    std::fwrite(input.data(), 1, input.size(), in);
    std::fflush(in);
    std::rewind(in);
    std::ostringstream out;
    std::ostringstream err;
    Context ctx;
    ctx.out = &out;
    ctx.err = &err;
    ctx.in_fd = ::fileno(in);
    ctx.set_connection(fake_.connect());
    args.insert(args.begin(), "tessera");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    int rc = run_cli(ctx, static_cast<int>(argv.size()), argv.data());
    std::fclose(in);
    return {rc, out.str(), err.str()};
  }

  std::string local(const std::string& name) const { return (dir_ / name).string(); }

  testing::FakeTessera fake_;
  fs::path dir_;
};

TEST_F(CommandsTest, LsFollowsPageTokens) {
  for (const char* d : {"/a", "/b", "/c", "/d", "/e"}) ASSERT_EQ(run({"mkdir", d}).rc, 0);
  Outcome r = run({"ls", "/"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "a\nb\nc\nd\ne\n");

  Outcome l = run({"ls", "-l", "/"});
  auto ls = lines_of(l.out);
  ASSERT_EQ(ls.size(), 5u);
  EXPECT_EQ(ls[0].substr(0, 10), "drwxr-xr-x");
  EXPECT_EQ(ls[0].substr(ls[0].size() - 2), " a");

  Outcome j = run({"--json", "ls", "/"});
  auto arr = nlohmann::json::parse(j.out);
  ASSERT_EQ(arr.size(), 5u);
  EXPECT_EQ(arr[4]["path"], "/e");
  EXPECT_EQ(arr[4]["kind"], "directory");
  // Global flags also work after the subcommand.
  EXPECT_EQ(run({"ls", "/", "--json"}).out, j.out);
}

TEST_F(CommandsTest, MkdirModeAndJson) {
  Outcome r = run({"mkdir", "--mode", "0700", "/x", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(fake_.state().objects["/x"].mode(), 0700u);
  EXPECT_EQ(nlohmann::json::parse(r.out)["permissions"], "drwx------");
  EXPECT_EQ(fake_.state().last_key_id, "");  // Mkdir does not record; Stat does
  ASSERT_EQ(run({"stat", "/x"}).rc, 0);
  EXPECT_EQ(fake_.state().last_key_id, "TK-TEST");
}

TEST_F(CommandsTest, PutGetCatRoundTrip) {
  std::string data(2'500'000, '\0');
  std::mt19937 rng(7);
  for (auto& c : data) c = static_cast<char>(rng());
  std::ofstream(local("src"), std::ios::binary) << data;

  Outcome put = run({"put", local("src"), "/big"});
  ASSERT_EQ(put.rc, 0) << put.err;
  EXPECT_EQ(put.out, "");
  EXPECT_EQ(fake_.state().files["/big"], data);

  ASSERT_EQ(run({"get", "/big", local("dst")}).rc, 0);
  EXPECT_EQ(read_file(local("dst")), data);
  EXPECT_EQ(run({"cat", "/big"}).out, data);

  // Into a directory: keeps the remote name.
  ASSERT_EQ(run({"get", "/big", dir_.string()}).rc, 0);
  EXPECT_EQ(read_file(local("big")), data);

  Outcome in = run({"put", "-", "/small", "--json"}, "from stdin");
  ASSERT_EQ(in.rc, 0) << in.err;
  EXPECT_EQ(fake_.state().files["/small"], "from stdin");
  EXPECT_EQ(nlohmann::json::parse(in.out)["bytes_written"], 10);

  ASSERT_EQ(run({"put", "-", "/empty"}).rc, 0);
  EXPECT_TRUE(fake_.state().files.contains("/empty"));
  EXPECT_EQ(run({"cat", "/empty"}).out, "");
}

TEST_F(CommandsTest, FailedGetLeavesLocalFileAlone) {
  std::ofstream(local("keep")) << "keep";
  Outcome r = run({"get", "/missing", local("keep")});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "tessera: /missing: not found\n");
  EXPECT_EQ(read_file(local("keep")), "keep");
  Outcome p = run({"put", local("nope"), "/x"});
  EXPECT_EQ(p.rc, 1);
  EXPECT_EQ(p.err.rfind("tessera: " + local("nope") + ": No such file", 0), 0u);
}

TEST_F(CommandsTest, Tables) {
  for (int i = 1; i <= 5; ++i) {
    std::string k = "k" + std::to_string(i);
    Outcome r = run({"table", "put", "/t", k, "{ \"n\": " + std::to_string(i) + " }"});
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  EXPECT_EQ(run({"table", "get", "/t", "k2"}).out, "{\"n\":2}\n");
  auto j = nlohmann::json::parse(run({"--json", "table", "get", "/t", "k2"}).out);
  EXPECT_EQ(j["key"], "k2");
  EXPECT_EQ(j["document"]["n"], 2);
  EXPECT_EQ(j["version"], 1);

  Outcome scan = run({"table", "scan", "/t"});
  EXPECT_EQ(lines_of(scan.out).size(), 5u);
  EXPECT_EQ(lines_of(scan.out)[0], "k1\t{\"n\":1}");
  EXPECT_EQ(lines_of(run({"table", "scan", "/t", "--limit", "3"}).out).size(), 3u);
  auto from = lines_of(run({"--json", "table", "scan", "/t", "--start", "k4"}).out);
  ASSERT_EQ(from.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(from[1])["key"], "k5");

  Outcome dup = run({"table", "put", "/t", "k1", "{}", "--if-absent"});
  EXPECT_EQ(dup.rc, 1);
  EXPECT_EQ(dup.err, "tessera: /t:k1: already exists\n");
  EXPECT_EQ(run({"table", "put", "/t", "k1", "{}", "--if-version", "1"}).rc, 0);
  EXPECT_EQ(run({"table", "put", "/t", "k1", "{}", "--if-version", "1"}).rc, 1);
  EXPECT_EQ(run({"table", "put", "/t", "k1", "[1,2]"}).rc, 2);
  EXPECT_EQ(run({"table", "put", "/t", "k1", "{}", "--if-absent", "--if-version", "3"}).rc, 2);
}

TEST_F(CommandsTest, AclSetAndGet) {
  ASSERT_EQ(run({"mkdir", "/a"}).rc, 0);
  Outcome set = run({"acl", "set", "/a", "user:bob:rw, deny:group:guests:w"});
  ASSERT_EQ(set.rc, 0) << set.err;
  ASSERT_EQ(fake_.state().acls["/a"].size(), 2u);
  EXPECT_TRUE(fake_.state().acls["/a"][1].deny());
  EXPECT_EQ(run({"acl", "get", "/a"}).out, "user:bob:rw\ndeny:group:guests:w\n");
  ASSERT_EQ(run({"acl", "set", "/a", ""}).rc, 0);
  EXPECT_TRUE(fake_.state().acls["/a"].empty());
  EXPECT_EQ(run({"acl", "set", "/a", "bob:rw"}).rc, 2);
}

TEST_F(CommandsTest, ProduceBatchesAndConsumeResumes) {
  ASSERT_EQ(run({"stream", "topic", "create", "/s:t"}).rc, 0);
  std::string input;
  for (int i = 0; i < 1200; ++i) input += "v" + std::to_string(i) + "\n";
  Outcome p = run({"stream", "produce", "/s:t"}, input);
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_EQ(p.err, "produced 1200 records to /s:t\n");
  EXPECT_EQ(fake_.state().produce_calls, 3u);  // 500 + 500 + 200

  Outcome c = run({"stream", "consume", "/s:t", "--from-beginning", "--max", "3"});
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_EQ(c.out, "v0\nv1\nv2\n");

  EXPECT_EQ(
      run({"stream", "consume", "/s:t", "--group", "g", "--from-beginning", "--max", "2"}).out,
      "v0\nv1\n");
  EXPECT_EQ(fake_.state().commits["g/0"], 2u);
  EXPECT_EQ(run({"stream", "consume", "/s:t", "--group", "g", "--max", "2"}).out, "v2\nv3\n");
  EXPECT_EQ(fake_.state().commits["g/0"], 4u);

  // Without --from-beginning or a group: only new records, none here.
  Outcome tail = run({"stream", "consume", "/s:t", "--idle-ms", "200"});
  EXPECT_EQ(tail.rc, 0);
  EXPECT_EQ(tail.out, "");
}

TEST_F(CommandsTest, ConsumeJsonAndLastLineWithoutNewline) {
  ASSERT_EQ(run({"stream", "topic", "create", "/s:t", "--partitions", "2"}).rc, 0);
  ASSERT_EQ(run({"stream", "produce", "/s:t", "--key", "k", "--partition", "1"}, "a\nb").rc, 0);
  Outcome c = run({"--json", "stream", "consume", "/s:t", "--from-beginning", "--wait-ms", "100"});
  ASSERT_EQ(c.rc, 0) << c.err;
  auto ls = lines_of(c.out);
  ASSERT_EQ(ls.size(), 2u);
  auto j = nlohmann::json::parse(ls[1]);
  EXPECT_EQ(j["key"], "k");
  EXPECT_EQ(j["value"], "b");
  EXPECT_EQ(j["partition"], 1);
  EXPECT_EQ(j["offset"], 1);
  EXPECT_TRUE(j["headers"].is_object());
  EXPECT_EQ(run({"stream", "consume", "/s:t", "--partition", "2"}).rc, 1);
  EXPECT_EQ(run({"stream", "consume", "/s:nope"}).err, "tessera: /s:nope: not found\n");
}

TEST_F(CommandsTest, KeyCreatePrintsCredentialsFile) {
  Outcome r = run({"key", "create", "bob"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "# Tessera credentials\nuser=bob\nkey_id=TK-NEW\nsecret=sekrit\nendpoint=" +
                       fake_.endpoint() + "\n");
  EXPECT_EQ(run({"whoami"}).out, "admin\n");
}

TEST_F(CommandsTest, ErrorsAndUsage) {
  Outcome nf = run({"stat", "/nope"});
  EXPECT_EQ(nf.rc, 1);
  EXPECT_EQ(nf.err, "tessera: /nope: not found\n");
  EXPECT_EQ(nf.out, "");

  for (std::vector<std::string> bad : {std::vector<std::string>{"ls", "-x"},
                                       {"frobnicate"},
                                       {"table"},
                                       {"chmod", "999", "/x"},
                                       {"volume", "create", "/v", "--quota", "10X"},
                                       {"stream", "produce", "/s"}}) {
    Outcome u = run(bad);
    EXPECT_EQ(u.rc, 2) << bad[0];
    EXPECT_EQ(u.err.rfind("tessera: ", 0), 0u) << u.err;
  }
  Outcome help = run({"ls", "--help"});
  EXPECT_EQ(help.rc, 0);
  EXPECT_NE(help.out.find("Usage: tessera ls"), std::string::npos);
}


// A two-node health document as the meta leader serves it (/v1/health).
constexpr char kHealth[] =
    R"({"meta_leader":1,"nodes":[)"
    R"({"id":1,"address":"10.0.0.1:7070","state":"up","shards":3,"leaders":2,"lag":0},)"
    R"({"id":12,"address":"10.0.0.2:7070","state":"draining","shards":1,"leaders":0,"lag":17}],)"
    R"("under_replicated_shards":1,"unavailable_shards":0,)"
    R"("rebalance":{"active":true,"pending_moves":2},)"
    R"("shards":[{"shard":1,"leader":1,"voters":[1,12],"learners":[],"commit":40}]})";

v1::Node make_node(uint64_t id, const std::string& address, const std::string& state) {
  v1::Node n;
  n.set_id(id);
  n.set_address(address);
  n.set_state(state);
  return n;
}

TEST_F(CommandsTest, ClusterStatusTable) {
  fake_.state().health_json = kHealth;
  Outcome r = run({"cluster", "status"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  ADDRESS        STATE     SHARDS  LEADERS  LAG\n"
            " 1  10.0.0.1:7070  up             3        2    0\n"
            "12  10.0.0.2:7070  draining       1        0   17\n"
            "under-replicated shards: 1\n"
            "unavailable shards: 0\n"
            "rebalance: 2 moves pending\n"
            "meta leader: node 1\n");
  EXPECT_EQ(r.err, "");

  fake_.state().health_json =
      R"({"meta_leader":0,"nodes":[],"under_replicated_shards":0,"unavailable_shards":3,)"
      R"("rebalance":{"active":false,"pending_moves":0},"shards":[]})";
  EXPECT_EQ(run({"cluster", "status"}).out,
            "ID  ADDRESS  STATE  SHARDS  LEADERS  LAG\n"
            "under-replicated shards: 0\n"
            "unavailable shards: 3\n"
            "rebalance: idle\n"
            "meta leader: none\n");
}

TEST_F(CommandsTest, ClusterStatusJsonIsTheDocumentAsReceived) {
  fake_.state().health_json = kHealth;
  Outcome r = run({"cluster", "status", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, std::string(kHealth) + "\n");
  EXPECT_EQ(run({"--json", "cluster", "status"}).out, r.out);
  EXPECT_EQ(nlohmann::json::parse(r.out)["nodes"][1]["lag"], 17);
}

TEST_F(CommandsTest, ClusterStatusErrors) {
  Outcome none = run({"cluster", "status"});
  EXPECT_EQ(none.rc, 1);
  EXPECT_EQ(none.err, "tessera: cluster health is not available on this node\n");
  EXPECT_EQ(none.out, "");

  fake_.state().health_json = "{not json";
  Outcome bad = run({"cluster", "status"});
  EXPECT_EQ(bad.rc, 1);
  EXPECT_EQ(bad.err, "tessera: cluster health: the server sent a malformed document\n");
  EXPECT_EQ(bad.out, "");
}

TEST_F(CommandsTest, NodeLs) {
  v1::Node a = make_node(1, "10.0.0.1:7070", "active");
  (*a.mutable_labels())["zone"] = "a";
  (*a.mutable_labels())["rack"] = "r1";
  fake_.state().nodes = {a, make_node(2, "10.0.0.2:7070", "removed")};
  Outcome r = run({"node", "ls"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID  ADDRESS        STATE    JOINED  LABELS\n"
            " 1  10.0.0.1:7070  active   -       rack=r1,zone=a\n"
            " 2  10.0.0.2:7070  removed  -       -\n");

  Outcome j = run({"node", "ls", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  auto arr = nlohmann::json::parse(j.out);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0], nlohmann::json::parse(
                        R"({"id":1,"address":"10.0.0.1:7070","state":"active",)"
                        R"("labels":{"rack":"r1","zone":"a"},"joined_ms":0})"));
  EXPECT_EQ(arr[1]["state"], "removed");
}

TEST_F(CommandsTest, NodeDrainAndRemove) {
  fake_.state().nodes = {make_node(1, "10.0.0.1:7070", "active"),
                         make_node(2, "10.0.0.2:7070", "active")};
  fake_.state().replicas = {{1, 4}, {2, 0}};

  Outcome drain = run({"node", "drain", "2"});
  ASSERT_EQ(drain.rc, 0) << drain.err;
  EXPECT_EQ(drain.out, "");
  EXPECT_EQ(fake_.state().nodes[1].state(), "draining");

  Outcome busy = run({"node", "remove", "1"});
  EXPECT_EQ(busy.rc, 1);
  EXPECT_EQ(busy.err,
            "tessera: node 1 still holds 4 replicas; run `tessera node drain 1` and wait until "
            "it holds none\n");
  EXPECT_EQ(fake_.state().nodes[0].state(), "active");

  Outcome removed = run({"node", "remove", "2", "--json"});
  ASSERT_EQ(removed.rc, 0) << removed.err;
  auto j = nlohmann::json::parse(removed.out);
  EXPECT_EQ(j["id"], 2);
  EXPECT_EQ(j["state"], "removed");

  Outcome unknown = run({"node", "drain", "99"});
  EXPECT_EQ(unknown.rc, 1);
  EXPECT_EQ(unknown.err, "tessera: node 99: not found\n");
  EXPECT_EQ(run({"node", "remove", "99"}).err, "tessera: node 99: not found\n");

  fake_.state().caller_admin = false;
  Outcome denied = run({"node", "drain", "1"});
  EXPECT_EQ(denied.rc, 1);
  EXPECT_EQ(denied.err, "tessera: node 1: permission denied\n");
  EXPECT_EQ(fake_.state().nodes[0].state(), "active");
}

TEST_F(CommandsTest, ClusterUsageAndHelp) {
  for (std::vector<std::string> bad : {std::vector<std::string>{"cluster"},
                                       {"node"},
                                       {"node", "drain"},
                                       {"node", "drain", "abc"},
                                       {"node", "drain", "0"},
                                       {"node", "remove", "1", "2"},
                                       {"cluster", "status", "extra"}}) {
    Outcome u = run(bad);
    EXPECT_EQ(u.rc, 2) << bad.back();
    EXPECT_EQ(u.err.rfind("tessera: ", 0), 0u) << u.err;
  }
  for (std::vector<std::string> cmd : {std::vector<std::string>{"cluster", "status"},
                                       {"node", "ls"},
                                       {"node", "drain"},
                                       {"node", "remove"}}) {
    cmd.push_back("--help");
    Outcome h = run(cmd);
    EXPECT_EQ(h.rc, 0) << cmd[1];
    EXPECT_NE(h.out.find("Usage: tessera " + cmd[0] + " " + cmd[1]), std::string::npos) << h.out;
  }
  EXPECT_NE(run({"node", "remove", "--help"}).out.find("drain it first"), std::string::npos);
  EXPECT_NE(run({"node", "drain", "0"}).err.find("'0' is not a node id"), std::string::npos);
}

}  // namespace
}  // namespace tessera::cli
