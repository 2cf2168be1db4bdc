#include "gateway/http/admin_routes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tessera::http {
namespace {

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(AdminRoutes, StandardRoutes) {
  Metrics metrics;
  metrics.counter("tessera_test_total", "Test.").inc(2);
  bool ready = false;
  Handler h = make_admin_handler({.ready = [&] { return ready; },
                                  .status_json = [] { return std::string(R"({"node":1})"); },
                                  .metrics = &metrics});

  Response health = h("GET", "/healthz", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.content_type, "text/plain");
  EXPECT_EQ(health.body, "ok");

  Response not_ready = h("GET", "/readyz", "");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready");
  ready = true;
  Response is_ready = h("GET", "/readyz?verbose=1", "");
  EXPECT_EQ(is_ready.status, 200);
  EXPECT_EQ(is_ready.body, "ready");

  Response m = h("GET", "/metrics", "");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4");
  EXPECT_EQ(m.body, metrics.render());

  Response s = h("HEAD", "/v1/status", "");
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.content_type, "application/json");
  EXPECT_EQ(s.body, R"({"node":1})");
}

TEST(AdminRoutes, MissingCallbacksAreTrivial) {
  Handler h = make_admin_handler({});
  EXPECT_EQ(h("GET", "/readyz", "").status, 200);
  EXPECT_EQ(h("GET", "/v1/status", "").body, "{}");
  Response m = h("GET", "/metrics", "");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, "");
}

TEST(AdminRoutes, WrongMethodIs405WithAllow) {
  Handler h = make_admin_handler({});
  Response r = h("POST", "/healthz", "x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "GET, HEAD");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "method not allowed");
}

TEST(AdminRoutes, UnknownPathIs404JsonOrExtra) {
  Handler plain = make_admin_handler({});
  Response r = plain("GET", "/nope?a=\"b\"", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json({{"error", "not found"}, {"path", "/nope"}}));

  Response bad_utf8 = plain("GET", "/\xff\xfe", "");
  EXPECT_EQ(bad_utf8.status, 404);

  Handler with_extra = make_admin_handler(
      {.extra = [](const std::string& method, const std::string& target, const std::string& body) {
        return Response{201, "text/plain", method + " " + target + " " + body};
      }});
  Response e = with_extra("PUT", "/v1/debug?x=1", "payload");
  EXPECT_EQ(e.status, 201);
  EXPECT_EQ(e.body, "PUT /v1/debug?x=1 payload");
  EXPECT_EQ(with_extra("GET", "/healthz", "").body, "ok");  // standard routes win
}

}  // namespace
}  // namespace tessera::http
