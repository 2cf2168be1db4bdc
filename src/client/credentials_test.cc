#include "client/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace tessera::client {
namespace {

namespace fs = std::filesystem;

// An EnvLookup over a fixed map, so tests never read the process environment.
EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

// A fresh directory under the system temp dir, removed at the end of a test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("tessera-client-test-" + std::to_string(::getpid()) + "-" + std::to_string(next_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = (path_ / name).string();
    std::ofstream(p) << text;
    return p;
  }

 private:
  static inline int next_ = 0;
  fs::path path_;
};

TEST(ParseCredentials, ReadsKeysCommentsAndWhitespace) {
  auto r = parse_credentials(
      "# Tessera credentials\n"
      "user=admin\n"
      "  key_id = TK0123456789ABCDEF  \n"
      "\n"
      "secret=s3cr=t\r\n"
      "endpoint=10.0.0.1:7070\n"
      "future_key=ignored\n",
      "f");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->user, "admin");
  EXPECT_EQ(r->key_id, "TK0123456789ABCDEF");
  EXPECT_EQ(r->secret, "s3cr=t");
  EXPECT_EQ(r->endpoint, "10.0.0.1:7070");
  EXPECT_EQ(r->source, "f");
}

TEST(ParseCredentials, EndpointIsOptional) {
  auto r = parse_credentials("key_id=K\nsecret=S", "f");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->endpoint, "");
  EXPECT_EQ(r->user, "");
}

TEST(ParseCredentials, Errors) {
  auto no_eq = parse_credentials("key_id=K\nsecret S\n", "/x/admin.credentials");
  ASSERT_FALSE(no_eq.is_ok());
  EXPECT_EQ(no_eq.status().code(), Errc::invalid_argument);
  EXPECT_EQ(no_eq.status().message(), "/x/admin.credentials:2: expected key=value");
  EXPECT_EQ(parse_credentials("secret=S", "f").status().message(), "f: missing key_id");
  EXPECT_EQ(parse_credentials("key_id=K", "f").status().message(), "f: missing secret");
}

TEST(FormatCredentials, RoundTrips) {
  Credentials c{"bob", "TKABC", "xyz", "h:1", ""};
  std::string text = format_credentials(c);
  EXPECT_EQ(text, "# Tessera credentials\nuser=bob\nkey_id=TKABC\nsecret=xyz\nendpoint=h:1\n");
  auto r = parse_credentials(text, "f");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->user, "bob");
  EXPECT_EQ(r->key_id, "TKABC");
  EXPECT_EQ(r->secret, "xyz");
  EXPECT_EQ(r->endpoint, "h:1");
  c.endpoint.clear();
  EXPECT_EQ(format_credentials(c).find("endpoint"), std::string::npos);
}

TEST(DefaultDataDir, Order) {
  EXPECT_EQ(*default_data_dir(
                fake_env({{"TESSERA_DATA_DIR", "/d"}, {"XDG_DATA_HOME", "/x"}, {"HOME", "/h"}})),
            "/d");
  EXPECT_EQ(*default_data_dir(fake_env({{"XDG_DATA_HOME", "/x"}, {"HOME", "/h"}})), "/x/tessera");
  EXPECT_EQ(*default_data_dir(fake_env({{"XDG_DATA_HOME", ""}, {"HOME", "/h"}})),
            "/h/.local/share/tessera");
  EXPECT_FALSE(default_data_dir(fake_env({})).is_ok());
}

TEST(FindCredentials, ExplicitThenEnvThenDefaultFile) {
  TempDir dir;
  std::string flag = dir.write("flag.credentials", "key_id=FLAG\nsecret=s\n");
  std::string env_file = dir.write("env.credentials", "key_id=ENV\nsecret=s\n");
  dir.write("admin.credentials", "key_id=DEFAULT\nsecret=s\n");
  auto env = fake_env({{"TESSERA_CREDENTIALS", env_file}, {"TESSERA_DATA_DIR", dir.path()}});

  auto a = find_credentials(flag, env);
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ((*a)->key_id, "FLAG");
  EXPECT_EQ((*a)->source, flag);

  auto b = find_credentials("", env);
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ((*b)->key_id, "ENV");

  auto c = find_credentials("", fake_env({{"TESSERA_DATA_DIR", dir.path()}}));
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ((*c)->key_id, "DEFAULT");
}

TEST(FindCredentials, NoneFound) {
  TempDir dir;
  auto r = find_credentials("", fake_env({{"TESSERA_DATA_DIR", dir.path()}}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_FALSE(r->has_value());
  auto no_home = find_credentials("", fake_env({}));
  ASSERT_TRUE(no_home.is_ok());
  EXPECT_FALSE(no_home->has_value());
}

TEST(FindCredentials, NamedFileMustExistAndParse) {
  TempDir dir;
  std::string missing = dir.path() + "/nope.credentials";
  auto r = find_credentials(missing, fake_env({}));
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  EXPECT_EQ(r.status().message().rfind(missing + ": cannot read credentials", 0), 0u);

  auto env = find_credentials("", fake_env({{"TESSERA_CREDENTIALS", missing}}));
  EXPECT_EQ(env.status().code(), Errc::not_found);

  std::string bad = dir.write("bad.credentials", "user=x\n");
  EXPECT_EQ(find_credentials(bad, fake_env({})).status().message(), bad + ": missing key_id");
}

TEST(ResolveEndpoint, Order) {
  Credentials c{"u", "k", "s", "file:1", "f"};
  auto env = fake_env({{"TESSERA_ENDPOINT", "env:1"}});
  EXPECT_EQ(resolve_endpoint("flag:1", env, &c), "flag:1");
  EXPECT_EQ(resolve_endpoint("", env, &c), "env:1");
  EXPECT_EQ(resolve_endpoint("", fake_env({}), &c), "file:1");
  EXPECT_EQ(resolve_endpoint("", fake_env({}), nullptr), "127.0.0.1:7070");
  c.endpoint.clear();
  EXPECT_EQ(resolve_endpoint("", fake_env({}), &c), "127.0.0.1:7070");
}

}  // namespace
}  // namespace tessera::client
