#pragma once
// Internal to tessera_client: the gRPC side of Connection. Includes gRPC
// headers; never include it from a public client header or from the CLI.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/connection.h"
#include "tessera/v1/tessera.grpc.pb.h"

namespace tessera::client {

inline constexpr char kKeyIdHeader[] = "x-tessera-key-id";
inline constexpr char kSecretHeader[] = "x-tessera-secret";
inline constexpr char kErrcTrailer[] = "x-tessera-errc";
inline constexpr char kRedirectTrailer[] = "x-tessera-redirect";

// Redirects one call follows before it returns the last refusal.
inline constexpr int kRedirectHopsMax = 3;
// Channels kept to endpoints other than the configured one.
inline constexpr size_t kRedirectChannelsMax = 8;
// Pause before re-sending a refused call: doubles from the first to the
// last, within the call's deadline.
inline constexpr int64_t kRetryPauseFirstMs = 50;
inline constexpr int64_t kRetryPauseMaxMs = 800;

// Which failures a call re-sends (until its deadline):
//   refusals     — not_leader without a redirect (no leader elected yet, a
//                  node starting): nothing was proposed, safe for any call;
//   reads        — also `unavailable` answered by a server (node starting,
//                  election in progress, leader unreachable): only for calls
//                  that change nothing, since for a write it may mean
//                  "outcome unknown".
// A server that cannot be reached is not retried: the caller may know others.
enum class Retry { refusals, reads };

// A ClientContext carrying the auth metadata of `creds` and, when
// timeout_ms > 0, a deadline timeout_ms from now.
std::unique_ptr<grpc::ClientContext> make_context(const Credentials& creds, int64_t timeout_ms);

// Converts a failed call into a Status (see connection.h for the rules).
// `ctx` must be the context of that call, after it finished. `endpoint`
// names the server in connectivity errors.
Status status_from_grpc(const grpc::Status& status, const grpc::ClientContext& ctx,
                        const std::string& endpoint);

// The endpoint a failed call redirects to: the `x-tessera-redirect` trailer
// of a not_leader refusal (nothing was proposed, so the call may be sent
// again), unless it names `endpoint` itself. nullopt for any other failure.
std::optional<std::string> redirect_target(const grpc::ClientContext& ctx, const std::string& endpoint);

// One channel and a stub per service.
struct Stubs {
  Stubs(const std::string& endpoint, int max_receive_bytes);
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Namespace::Stub> ns;
  std::unique_ptr<v1::Files::Stub> files;
  std::unique_ptr<v1::Tables::Stub> tables;
  std::unique_ptr<v1::Streams::Stub> streams;
  std::unique_ptr<v1::Admin::Stub> admin;
};

struct Connection::Impl {
  explicit Impl(ConnectionOptions o);

  // The stubs for `endpoint`: the configured one, or a cached channel to a
  // redirect target (the cache is dropped whole when it is full; calls in
  // flight keep theirs alive). Thread-safe.
  std::shared_ptr<Stubs> stubs_for(const std::string& endpoint);

  // One blocking unary call: `which` picks the service's stub and `method`
  // is a Stub member such as &v1::Namespace::Stub::Stat. Follows at most
  // kRedirectHopsMax redirects, all within the one deadline.
  template <typename Stub, typename Req, typename Resp>
  Result<Resp> call(std::unique_ptr<Stub> Stubs::*which,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, int64_t timeout_ms, Retry retry = Retry::refusals) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string endpoint = options.endpoint;
    int64_t pause_ms = kRetryPauseFirstMs;
    for (int hop = 0;; ++hop) {
      auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - std::chrono::steady_clock::now())
                         .count();
      auto ctx = make_context(options.credentials, std::max<int64_t>(1, left_ms));
      auto stubs = stubs_for(endpoint);
      Resp resp;
      Stub& stub = *((*stubs).*which);
      grpc::Status s = (stub.*method)(ctx.get(), req, &resp);
      if (s.ok()) return resp;
      auto next = redirect_target(*ctx, endpoint);
      if (next && hop < kRedirectHopsMax && std::chrono::steady_clock::now() < deadline) {
        endpoint = *next;
        continue;
      }
      Status st = status_from_grpc(s, *ctx, endpoint);
      // Only what a server answered: an unreachable endpoint fails at once
      // (the caller may know other nodes).
      bool answered = ctx->GetServerTrailingMetadata().count(kErrcTrailer) != 0;
      bool again = answered && ((st.code() == Errc::not_leader && !next) ||
                                (retry == Retry::reads && st.code() == Errc::unavailable));
      if (!again || std::chrono::steady_clock::now() + std::chrono::milliseconds(pause_ms) >= deadline) {
        return st;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      pause_ms = std::min(2 * pause_ms, kRetryPauseMaxMs);
      // Start over at the configured endpoint: a redirect target may be the
      // node that went away.
      endpoint = options.endpoint;
      hop = -1;
    }
  }

  template <typename Stub, typename Req, typename Resp>
  Result<Resp> call(std::unique_ptr<Stub> Stubs::*which,
                    grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Retry retry = Retry::refusals) {
    return call(which, method, req, options.unary_timeout_ms, retry);
  }

  ConnectionOptions options;
  const std::shared_ptr<Stubs> primary;

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Stubs>> redirected_;  // by endpoint
};

}  // namespace tessera::client
