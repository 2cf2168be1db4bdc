// Table commands: table create, put, get, delete, update, scan.
//
// Keys are given as text and sent as their bytes. Documents are JSON
// objects, checked at parse time and sent compact. get and update print the
// document as stored (--json: {"key","document","version"}); scan prints one
// row per line, "KEY<TAB>DOCUMENT" (--json: one object per line, JSON
// Lines). put and delete print nothing (put --json: {"key","version"}).

#include <CLI/CLI.hpp>

#include "cli/args.h"
#include "cli/context.h"
#include "cli/output.h"

namespace tessera::cli {
namespace {

// Bound on Scan pages, against a server whose page tokens never end.
constexpr size_t kScanPagesMax = 1'000'000;
// Rows asked for per Scan page (the server's default page).
constexpr uint64_t kScanPageRows = 1000;

std::string compact(const std::string& json_text) { return Json::parse(json_text).dump(); }

void print_row(Context& ctx, const v1::Row& row) {
  if (ctx.json) {
    print_json(ctx, row_json(row));
  } else {
    *ctx.out << row.document() << '\n';
  }
}

void add_create(CLI::App& table, Context& ctx) {
  auto path = std::make_shared<std::string>();
  auto mode = std::make_shared<uint32_t>(0644);
  auto* cmd = table.add_subcommand("create", "Create a table");
  cmd->add_option("PATH", *path, "Table to create")->required();
  cmd->add_option("--mode", *mode, "Permission bits in octal (default 644)")
      ->transform(mode_arg())
      ->type_name("MODE");
  on_run(cmd, ctx, [&ctx, path, mode]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::CreateTableRequest r;
    r.set_path(*path);
    r.set_mode(*mode);
    TESSERA_ASSIGN_OR_RETURN(v1::CreateTableResponse resp, conn->create_table(r));
    if (ctx.json) print_json(ctx, stat_json(resp.stat()));
    return Status::ok();
  });
}

void add_put(CLI::App& table, Context& ctx) {
  auto req = std::make_shared<v1::PutRowRequest>();
  auto doc = std::make_shared<std::string>();
  auto if_absent = std::make_shared<bool>(false);
  auto if_version = std::make_shared<uint64_t>(0);
  auto* cmd = table.add_subcommand("put", "Write a row, replacing its document");
  cmd->add_option("PATH", *req->mutable_path(), "Table")->required();
  cmd->add_option("KEY", *req->mutable_key(), "Row key")->required();
  cmd->add_option("JSON", *doc, "Document, a JSON object")->required()->check(json_object_arg());
  auto* absent =
      cmd->add_flag("--if-absent", *if_absent, "Fail with already_exists if the row exists");
  cmd->add_option("--if-version", *if_version, "Fail with version_mismatch unless the row is at V")
      ->type_name("V")
      ->check(CLI::PositiveNumber)
      ->excludes(absent);
  on_run(cmd, ctx, [&ctx, req, doc, if_absent, if_version]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    req->set_document(compact(*doc));
    req->set_if_absent(*if_absent);
    req->set_if_version(*if_version);
    TESSERA_ASSIGN_OR_RETURN(v1::PutRowResponse resp, conn->put_row(*req));
    if (ctx.json) print_json(ctx, Json{{"key", req->key()}, {"version", resp.version()}});
    return Status::ok();
  });
}

void add_get(CLI::App& table, Context& ctx) {
  auto req = std::make_shared<v1::GetRowRequest>();
  auto* cmd = table.add_subcommand("get", "Print a row's document");
  cmd->add_option("PATH", *req->mutable_path(), "Table")->required();
  cmd->add_option("KEY", *req->mutable_key(), "Row key")->required();
  on_run(cmd, ctx, [&ctx, req]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::GetRowResponse resp, conn->get_row(*req));
    print_row(ctx, resp.row());
    return Status::ok();
  });
}

void add_delete(CLI::App& table, Context& ctx) {
  auto req = std::make_shared<v1::DeleteRowRequest>();
  auto if_version = std::make_shared<uint64_t>(0);
  auto* cmd = table.add_subcommand("delete", "Delete a row");
  cmd->add_option("PATH", *req->mutable_path(), "Table")->required();
  cmd->add_option("KEY", *req->mutable_key(), "Row key")->required();
  cmd->add_option("--if-version", *if_version, "Fail with version_mismatch unless the row is at V")
      ->type_name("V")
      ->check(CLI::PositiveNumber);
  on_run(cmd, ctx, [&ctx, req, if_version]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    req->set_if_version(*if_version);
    return conn->delete_row(*req).status();
  });
}

void add_update(CLI::App& table, Context& ctx) {
  auto req = std::make_shared<v1::UpdateRowRequest>();
  auto set = std::make_shared<std::string>();
  auto remove = std::make_shared<std::vector<std::string>>();
  auto if_version = std::make_shared<uint64_t>(0);
  auto create = std::make_shared<bool>(false);
  auto* cmd =
      table.add_subcommand("update",
                           "Merge top-level fields of JSON into a row and remove --remove fields; "
                           "prints the updated document");
  cmd->add_option("PATH", *req->mutable_path(), "Table")->required();
  cmd->add_option("KEY", *req->mutable_key(), "Row key")->required();
  cmd->add_option("JSON", *set, "Fields to set, a JSON object")
      ->required()
      ->check(json_object_arg());
  cmd->add_option("--remove", *remove, "Top-level field to delete (repeatable)")
      ->type_name("FIELD")
      ->allow_extra_args(false);
  cmd->add_option("--if-version", *if_version, "Fail with version_mismatch unless the row is at V")
      ->type_name("V")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--create", *create, "Create the row from JSON if it is missing");
  on_run(cmd, ctx, [&ctx, req, set, remove, if_version, create]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    req->set_set(compact(*set));
    req->clear_remove();
    for (const auto& f : *remove) req->add_remove(f);
    req->set_if_version(*if_version);
    req->set_create(*create);
    TESSERA_ASSIGN_OR_RETURN(v1::UpdateRowResponse resp, conn->update_row(*req));
    print_row(ctx, resp.row());
    return Status::ok();
  });
}

struct ScanOptions {
  std::string path;
  std::string prefix;
  std::string start;
  std::string end;
  uint64_t limit = 0;
};

Status run_scan(Context& ctx, const ScanOptions& o) {
  TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
  v1::ScanRequest r;
  r.set_path(o.path);
  r.set_prefix(o.prefix);
  r.set_start(o.start);
  r.set_end(o.end);
  uint64_t printed = 0;
  for (size_t page = 0;; ++page) {
    if (page == kScanPagesMax) {
      return Status(Errc::internal, o.path + ": scan did not end after too many pages");
    }
    uint64_t want = o.limit == 0 ? kScanPageRows : std::min(kScanPageRows, o.limit - printed);
    r.set_limit(static_cast<uint32_t>(want));
    TESSERA_ASSIGN_OR_RETURN(v1::ScanResponse resp, conn->scan(r));
    for (const auto& row : resp.rows()) {
      if (o.limit != 0 && printed == o.limit) break;
      if (ctx.json) {
        print_json(ctx, row_json(row), /*one_line=*/true);
      } else {
        *ctx.out << row.key() << '\t' << row.document() << '\n';
      }
      ++printed;
    }
    if (resp.next_page_token().empty() || (o.limit != 0 && printed == o.limit)) break;
    r.set_page_token(resp.next_page_token());
  }
  ctx.out->flush();
  return Status::ok();
}

void add_scan(CLI::App& table, Context& ctx) {
  auto o = std::make_shared<ScanOptions>();
  auto* cmd = table.add_subcommand(
      "scan", "Print rows in key order, one per line: KEY<TAB>DOCUMENT (--json: JSON Lines)");
  cmd->add_option("PATH", o->path, "Table")->required();
  cmd->add_option("--prefix", o->prefix, "Only keys starting with P")->type_name("P");
  cmd->add_option("--start", o->start, "First key (inclusive)")->type_name("K");
  cmd->add_option("--end", o->end, "Last key (exclusive)")->type_name("K");
  cmd->add_option("--limit", o->limit, "Stop after N rows (default: all)")->type_name("N");
  on_run(cmd, ctx, [&ctx, o] { return run_scan(ctx, *o); });
}

}  // namespace

void register_table_commands(CLI::App& app, Context& ctx) {
  auto* table = app.add_subcommand("table", "Tables of JSON documents keyed by byte strings");
  table->require_subcommand(1);
  add_create(*table, ctx);
  add_put(*table, ctx);
  add_get(*table, ctx);
  add_delete(*table, ctx);
  add_update(*table, ctx);
  add_scan(*table, ctx);
}

}  // namespace tessera::cli
