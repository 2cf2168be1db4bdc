// Cluster commands: cluster status, node ls|drain|remove.
//
// `cluster status` renders the meta leader's health document
// (Admin.ClusterHealth, the same document as GET /v1/health) as a table of
// nodes and summary lines; --json prints the document as the server sent
// it. `node drain` and `node remove` print nothing (--json: the node after
// the change).

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/context.h"
#include "cli/output.h"

namespace tessera::cli {
namespace {

// obj[key] as decimal text; "-" when it is missing or not a number.
std::string number_text(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return "-";
  return it->dump();
}

std::string string_text(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "-";
  return it->get<std::string>();
}

// The text of `tessera cluster status`. Fields the document lacks show as
// "-"; fields it has but this version does not know are not shown.
Result<std::string> render_health(const std::string& doc) {
  auto j = nlohmann::json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status(Errc::internal, "cluster health: the server sent a malformed document");
  }
  TextTable t;
  for (size_t c : {0, 3, 4, 5}) t.align_right(c);
  t.add_row({"ID", "ADDRESS", "STATE", "SHARDS", "LEADERS", "LAG"});
  auto nodes = j.find("nodes");
  if (nodes != j.end() && nodes->is_array()) {
    for (const auto& n : *nodes) {
      if (!n.is_object()) continue;
      t.add_row({number_text(n, "id"), string_text(n, "address"), string_text(n, "state"),
                 number_text(n, "shards"), number_text(n, "leaders"), number_text(n, "lag")});
    }
  }
  std::string out = t.render();
  out += "under-replicated shards: " + number_text(j, "under_replicated_shards") + "\n";
  out += "unavailable shards: " + number_text(j, "unavailable_shards") + "\n";
  std::string rebalance = "-";
  auto rb = j.find("rebalance");
  if (rb != j.end() && rb->is_object()) {
    auto pending = rb->find("pending_moves");
    if (pending != rb->end() && pending->is_number_unsigned()) {
      auto n = pending->get<uint64_t>();
      rebalance = n == 0 ? "idle" : std::to_string(n) + (n == 1 ? " move" : " moves") + " pending";
    }
  }
  out += "rebalance: " + rebalance + "\n";
  auto leader = j.find("meta_leader");
  bool has_leader = leader != j.end() && leader->is_number_unsigned() && leader->get<uint64_t>() != 0;
  out += "meta leader: " + (has_leader ? "node " + leader->dump() : std::string("none")) + "\n";
  return out;
}

void add_cluster(CLI::App& app, Context& ctx) {
  auto* cluster = app.add_subcommand("cluster", "The cluster as a whole");
  cluster->require_subcommand(1);

  auto* status = cluster->add_subcommand(
      "status", "Show the cluster's health as the meta leader sees it: nodes, replicas, shards");
  status->footer(R"(Columns: STATE is up, down (missed heartbeats), draining or removed;
SHARDS the replicas the node holds; LEADERS the shards it leads; LAG how many
entries its furthest-behind replica trails the shard's leader.
Then: shards lacking replicas (under-replicated) or a leader or quorum
(unavailable), replica moves placement still wants (rebalance), and the node
leading the meta shard.
--json prints the health document as the server sent it (GET /v1/health).)");
  on_run(status, ctx, [&ctx]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::ClusterHealthResponse resp, conn->cluster_health({}));
    if (ctx.json) {
      *ctx.out << resp.json();
      if (resp.json().empty() || resp.json().back() != '\n') *ctx.out << '\n';
      return Status::ok();
    }
    TESSERA_ASSIGN_OR_RETURN(std::string text, render_health(resp.json()));
    *ctx.out << text;
    return Status::ok();
  });
}

void add_node(CLI::App& app, Context& ctx) {
  auto* node = app.add_subcommand("node", "Cluster members: list, drain, remove");
  node->require_subcommand(1);

  auto* ls = node->add_subcommand("ls", "List the cluster's nodes, removed ones included");
  on_run(ls, ctx, [&ctx]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::ListNodesResponse resp, conn->list_nodes({}));
    if (ctx.json) {
      Json arr = Json::array();
      for (const auto& n : resp.nodes()) arr.push_back(node_json(n));
      print_json(ctx, arr);
      return Status::ok();
    }
    TextTable t;
    t.align_right(0);
    t.add_row({"ID", "ADDRESS", "STATE", "JOINED", "LABELS"});
    for (const auto& n : resp.nodes()) {
      t.add_row({std::to_string(n.id()), n.address(), n.state(),
                 n.joined_ms() == 0 ? "-" : format_time_ms(n.joined_ms()), labels_text(n.labels())});
    }
    *ctx.out << t.render();
    return Status::ok();
  });

  auto drain_id = std::make_shared<uint64_t>(0);
  auto* drain = node->add_subcommand(
      "drain", "Move every replica off node ID and put no new ones on it (administrators)");
  drain->add_option("ID", *drain_id, "Node id (see `tessera node ls`)")
      ->required()
      ->check(node_id_arg())
      ->type_name("ID");
  drain->footer(R"(Returns at once; placement moves the replicas in the background. Follow
`tessera cluster status` until the node's SHARDS reach 0, then stop it and run
`tessera node remove ID`.)");
  on_run(drain, ctx, [&ctx, drain_id]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::NodeRequest r;
    r.set_id(*drain_id);
    TESSERA_ASSIGN_OR_RETURN(v1::NodeResponse resp, conn->drain_node(r));
    if (ctx.json) print_json(ctx, node_json(resp.node()));
    return Status::ok();
  });

  auto remove_id = std::make_shared<uint64_t>(0);
  auto* remove = node->add_subcommand(
      "remove", "Remove node ID from the cluster for good (administrators)");
  remove->add_option("ID", *remove_id, "Node id (see `tessera node ls`)")
      ->required()
      ->check(node_id_arg())
      ->type_name("ID");
  remove->footer(R"(Refused while the node holds replicas: drain it first (`tessera node drain
ID`) and wait until `tessera cluster status` shows it holding none. A removed
node's id is never reused; the node's data directory is not touched.)");
  on_run(remove, ctx, [&ctx, remove_id]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::NodeRequest r;
    r.set_id(*remove_id);
    TESSERA_ASSIGN_OR_RETURN(v1::NodeResponse resp, conn->remove_node(r));
    if (ctx.json) print_json(ctx, node_json(resp.node()));
    return Status::ok();
  });
}

}  // namespace

void register_cluster_commands(CLI::App& app, Context& ctx) {
  add_cluster(app, ctx);
  add_node(app, ctx);
}

}  // namespace tessera::cli
