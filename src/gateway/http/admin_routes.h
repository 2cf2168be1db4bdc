#pragma once
// The standard admin routes every Tessera process serves on its AdminServer:
//
//   GET /healthz    200 "ok" (text/plain) while the process serves: liveness.
//   GET /readyz     200 "ready" when ready(), else 503 "not ready": readiness.
//   GET /metrics    metrics->render(), "text/plain; version=0.0.4".
//   GET /v1/status  status_json(), application/json.
//
// HEAD is accepted wherever GET is. Another method on these paths is 405
// with an Allow header. Any other path goes to `extra` when set, else 404
// {"error":"not found","path":...}. Routing looks at the path only; the
// query string is ignored by the standard routes and passed on to `extra`.

#include <functional>
#include <string>

#include "base/metrics.h"
#include "gateway/http/server.h"

namespace tessera::http {

// The callbacks are invoked on the server's I/O threads, possibly
// concurrently, so they must be thread-safe. A missing callback means the
// trivial answer: always ready, status "{}", an empty metrics page.
struct AdminRoutes {
  std::function<bool()> ready;
  std::function<std::string()> status_json;
  Metrics* metrics = nullptr;  // not owned; must outlive the handler
  Handler extra;
};

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4";

Handler make_admin_handler(AdminRoutes routes);

}  // namespace tessera::http
