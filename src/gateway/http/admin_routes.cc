#include "gateway/http/admin_routes.h"

#include <memory>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace tessera::http {
namespace {

Response text(int status, std::string body) {
  return Response{status, "text/plain", std::move(body)};
}

Response json_error(int status, nlohmann::json body) {
  // Paths are client bytes and need not be UTF-8: replace, never throw.
  return Response{status, "application/json",
                  body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

}  // namespace

Handler make_admin_handler(AdminRoutes routes) {
  auto r = std::make_shared<const AdminRoutes>(std::move(routes));
  return [r](const std::string& method, const std::string& target,
             const std::string& body) -> Response {
    std::string_view path(target);
    path = path.substr(0, path.find('?'));

    bool standard =
        path == "/healthz" || path == "/readyz" || path == "/metrics" || path == "/v1/status";
    if (!standard) {
      if (r->extra) return r->extra(method, target, body);
      return json_error(404, {{"error", "not found"}, {"path", path}});
    }
    if (method != "GET" && method != "HEAD") {
      Response res = json_error(405, {{"error", "method not allowed"}, {"method", method}});
      res.headers.emplace_back("Allow", "GET, HEAD");
      return res;
    }

    if (path == "/healthz") return text(200, "ok");
    if (path == "/readyz") {
      bool ready = !r->ready || r->ready();
      return ready ? text(200, "ready") : text(503, "not ready");
    }
    if (path == "/metrics") {
      return Response{200, kMetricsContentType, r->metrics ? r->metrics->render() : ""};
    }
    return Response{200, "application/json", r->status_json ? r->status_json() : "{}"};
  };
}

}  // namespace tessera::http
