#pragma once
// Redirects: how a node that holds no replica of a shard tells the client
// where to go. A redirect is a Status with Errc::not_leader — a refusal made
// before anything was proposed, so any request, read or write, may be sent
// again — whose message ends in "; retry at HOST:PORT". rpc.cc turns the
// address into the `x-tessera-redirect` trailer; clients follow it
// (client/connection.h). These two functions are the only code that writes
// or reads that message shape.

#include <optional>
#include <string>

#include "base/ids.h"
#include "base/status.h"

namespace tessera::server {

// "shard 7: not hosted on this node; retry at 10.0.0.2:7100".
Status redirect_status(ShardId shard, const std::string& address);

// The address `st` redirects to, when it is a redirect_status; nullopt for
// any other status.
std::optional<std::string> redirect_address(const Status& st);

// `st` as the answer to a request that proposed something before failing:
// a not_leader refusal (with or without a redirect) becomes
// Errc::unavailable: the request must not be sent again blindly, what it
// proposed may have been applied. So a client may always re-send a request
// refused with not_leader. Other statuses pass.
Status after_proposal(Status st);

}  // namespace tessera::server
