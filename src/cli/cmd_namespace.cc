// Namespace commands: ls, mkdir, stat, rm, mv, ln, chmod, chown, acl.
//
// Mutations print nothing on success; with --json, those whose RPC returns
// a Stat print it.

#include <CLI/CLI.hpp>

#include "cli/args.h"
#include "cli/context.h"
#include "cli/output.h"
#include "client/units.h"

namespace tessera::cli {
namespace {

// Bound on List pages, against a server whose page tokens never end.
constexpr size_t kListPagesMax = 1'000'000;

bool is_directory_like(v1::ObjectKind k) { return k == v1::KIND_DIRECTORY || k == v1::KIND_VOLUME; }

struct LsOptions {
  bool long_format = false;
  std::string path = "/";
};

Status run_ls(Context& ctx, const LsOptions& o) {
  TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
  v1::StatRequest sr;
  sr.set_path(o.path);
  // Like ls(1): a symlink argument is followed unless the listing is long.
  sr.set_follow_symlinks(!o.long_format);
  TESSERA_ASSIGN_OR_RETURN(v1::StatResponse top, conn->stat(sr));

  std::vector<std::pair<v1::Stat, std::string>> entries;  // stat, shown name
  if (is_directory_like(top.stat().kind())) {
    v1::ListRequest lr;
    // The Stat path is the resolved one when PATH was a symlink.
    lr.set_path(top.stat().path().empty() ? o.path : top.stat().path());
    for (size_t page = 0;; ++page) {
      if (page == kListPagesMax) {
        return Status(Errc::internal, o.path + ": listing did not end after too many pages");
      }
      TESSERA_ASSIGN_OR_RETURN(v1::ListResponse resp, conn->list(lr));
      for (auto& e : *resp.mutable_entries()) {
        std::string name(base_name(e.path()));
        entries.emplace_back(std::move(e), std::move(name));
      }
      if (resp.next_page_token().empty()) break;
      lr.set_page_token(resp.next_page_token());
    }
  } else {
    entries.emplace_back(top.stat(), o.path);
  }

  if (ctx.json) {
    Json arr = Json::array();
    for (const auto& [st, name] : entries) arr.push_back(stat_json(st));
    print_json(ctx, arr);
    return Status::ok();
  }
  if (!o.long_format) {
    for (const auto& [st, name] : entries) *ctx.out << name << '\n';
    return Status::ok();
  }
  TextTable t(1);
  t.align_right(3);
  for (const auto& [st, name] : entries) t.add_row(long_list_row(st, name));
  *ctx.out << t.render();
  return Status::ok();
}

void add_ls(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<LsOptions>();
  auto* cmd = app.add_subcommand("ls", "List a directory, or show one entry");
  cmd->add_flag("-l", o->long_format, "Long listing: mode, owner, group, size, mtime, name");
  cmd->add_option("PATH", o->path, "Path to list (default /)");
  on_run(cmd, ctx, [&ctx, o] { return run_ls(ctx, *o); });
}

void add_mkdir(CLI::App& app, Context& ctx) {
  auto mode = std::make_shared<uint32_t>(0755);
  auto parents = std::make_shared<bool>(false);
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("mkdir", "Create a directory");
  cmd->add_flag("-p,--parents", *parents, "Create missing parents; no error if it exists");
  cmd->add_option("--mode", *mode, "Permission bits in octal (default 755)")
      ->transform(mode_arg())
      ->type_name("MODE");
  cmd->add_option("PATH", *path, "Directory to create")->required();
  on_run(cmd, ctx, [&ctx, mode, parents, path]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::MkdirRequest r;
    r.set_path(*path);
    r.set_mode(*mode);
    r.set_parents(*parents);
    TESSERA_ASSIGN_OR_RETURN(v1::MkdirResponse resp, conn->mkdir(r));
    if (ctx.json) print_json(ctx, stat_json(resp.stat()));
    return Status::ok();
  });
}

void add_stat(CLI::App& app, Context& ctx) {
  auto path = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("stat", "Show an object's metadata, one field per line");
  cmd->add_flag("-L,--follow", *follow, "Follow a final symlink");
  cmd->add_option("PATH", *path, "Object to show")->required();
  on_run(cmd, ctx, [&ctx, path, follow]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::StatRequest r;
    r.set_path(*path);
    r.set_follow_symlinks(*follow);
    TESSERA_ASSIGN_OR_RETURN(v1::StatResponse resp, conn->stat(r));
    if (ctx.json) {
      print_json(ctx, stat_json(resp.stat()));
    } else {
      *ctx.out << render_fields(stat_fields(resp.stat()));
    }
    return Status::ok();
  });
}

void add_rm(CLI::App& app, Context& ctx) {
  auto path = std::make_shared<std::string>();
  auto recursive = std::make_shared<bool>(false);
  auto force = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("rm", "Remove an object");
  cmd->add_flag("-r,-R,--recursive", *recursive, "Remove a directory and everything below it");
  cmd->add_flag("-f,--force", *force, "No error when PATH does not exist");
  cmd->add_option("PATH", *path, "Object to remove")->required();
  on_run(cmd, ctx, [&ctx, path, recursive, force]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::RemoveRequest r;
    r.set_path(*path);
    r.set_recursive(*recursive);
    auto resp = conn->remove(r);
    if (!resp && !(*force && resp.status().code() == Errc::not_found)) return resp.status();
    return Status::ok();
  });
}

void add_mv(CLI::App& app, Context& ctx) {
  auto req = std::make_shared<v1::RenameRequest>();
  auto no_replace = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("mv", "Rename an object (within one volume)");
  cmd->add_flag("-n,--no-clobber", *no_replace, "Fail if DST exists instead of replacing it");
  cmd->add_option("SRC", *req->mutable_src(), "Object to move")->required();
  cmd->add_option("DST", *req->mutable_dst(), "New path")->required();
  on_run(cmd, ctx, [&ctx, req, no_replace]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    req->set_no_replace(*no_replace);
    return conn->rename(*req).status();
  });
}

void add_ln(CLI::App& app, Context& ctx) {
  auto target = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto symbolic = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("ln", "Make a link: symbolic with -s, else a hard link");
  cmd->add_flag("-s,--symbolic", *symbolic, "Make a symbolic link holding TARGET");
  cmd->add_option("TARGET", *target, "What the link points to")->required();
  cmd->add_option("PATH", *path, "The link to create")->required();
  on_run(cmd, ctx, [&ctx, target, path, symbolic]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::Stat st;
    if (*symbolic) {
      v1::SymlinkRequest r;
      r.set_path(*path);
      r.set_target(*target);
      TESSERA_ASSIGN_OR_RETURN(v1::SymlinkResponse resp, conn->symlink(r));
      st = resp.stat();
    } else {
      v1::LinkRequest r;
      r.set_src(*target);
      r.set_dst(*path);
      TESSERA_ASSIGN_OR_RETURN(v1::LinkResponse resp, conn->link(r));
      st = resp.stat();
    }
    if (ctx.json) print_json(ctx, stat_json(st));
    return Status::ok();
  });
}

void add_chmod(CLI::App& app, Context& ctx) {
  auto mode = std::make_shared<uint32_t>(0);
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("chmod", "Change permission bits");
  cmd->add_option("MODE", *mode, "Octal mode, e.g. 755 or 0640")
      ->required()
      ->transform(mode_arg())
      ->type_name("MODE");
  cmd->add_option("PATH", *path, "Object to change")->required();
  on_run(cmd, ctx, [&ctx, mode, path]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::ChmodRequest r;
    r.set_path(*path);
    r.set_mode(*mode);
    TESSERA_ASSIGN_OR_RETURN(v1::ChmodResponse resp, conn->chmod(r));
    if (ctx.json) print_json(ctx, stat_json(resp.stat()));
    return Status::ok();
  });
}

void add_chown(CLI::App& app, Context& ctx) {
  auto spec = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("chown", "Change owner and/or group");
  cmd->add_option("OWNER", *spec, "USER, USER:GROUP or :GROUP")
      ->required()
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return text.empty() || text == ":" ? "'" + text + "' names no user or group" : "";
          },
          ""));
  cmd->add_option("PATH", *path, "Object to change")->required();
  on_run(cmd, ctx, [&ctx, spec, path]() -> Status {
    v1::ChownRequest r;
    r.set_path(*path);
    size_t colon = spec->find(':');
    r.set_owner(spec->substr(0, colon));
    if (colon != std::string::npos) r.set_group(spec->substr(colon + 1));
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::ChownResponse resp, conn->chown(r));
    if (ctx.json) print_json(ctx, stat_json(resp.stat()));
    return Status::ok();
  });
}

void add_acl(CLI::App& app, Context& ctx) {
  auto* acl = app.add_subcommand("acl", "Show or replace an access control list");
  acl->require_subcommand(1);

  auto get_path = std::make_shared<std::string>();
  auto* get = acl->add_subcommand("get", "Print the ACL, one entry per line in SPEC syntax");
  get->add_option("PATH", *get_path, "Object")->required();
  on_run(get, ctx, [&ctx, get_path]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::GetAclRequest r;
    r.set_path(*get_path);
    TESSERA_ASSIGN_OR_RETURN(v1::GetAclResponse resp, conn->get_acl(r));
    if (ctx.json) {
      Json arr = Json::array();
      for (const auto& e : resp.entries()) arr.push_back(acl_entry_json(e));
      print_json(ctx, arr);
    } else {
      for (const auto& e : resp.entries()) *ctx.out << client::format_acl_entry(e) << '\n';
    }
    return Status::ok();
  });

  auto set_path = std::make_shared<std::string>();
  auto spec = std::make_shared<std::string>();
  auto* set = acl->add_subcommand(
      "set",
      "Replace the ACL. SPEC: comma-separated [allow:|deny:]user|group:NAME:PERMS, PERMS "
      "letters r (read), w (write), a (admin); e.g. user:bob:rw,deny:group:guests:w. "
      "\"\" clears the ACL");
  set->add_option("PATH", *set_path, "Object")->required();
  set->add_option("SPEC", *spec, "ACL spec")->required()->check(acl_spec_arg());
  on_run(set, ctx, [&ctx, set_path, spec]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(std::vector<v1::AclEntry> entries, client::parse_acl_spec(*spec));
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::SetAclRequest r;
    r.set_path(*set_path);
    for (auto& e : entries) *r.add_entries() = std::move(e);
    return conn->set_acl(r).status();
  });
}

}  // namespace

void register_namespace_commands(CLI::App& app, Context& ctx) {
  add_ls(app, ctx);
  add_mkdir(app, ctx);
  add_stat(app, ctx);
  add_rm(app, ctx);
  add_mv(app, ctx);
  add_ln(app, ctx);
  add_chmod(app, ctx);
  add_chown(app, ctx);
  add_acl(app, ctx);
}

}  // namespace tessera::cli
