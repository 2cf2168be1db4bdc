// Admin commands: volume create|ls|rm, user create|ls, key create, whoami,
// status.
//
// `key create` prints a complete credentials file (client/credentials.h)
// whose endpoint is the one this invocation used. whoami prints the user
// name (--json: the whole user).

#include <CLI/CLI.hpp>

#include "cli/args.h"
#include "cli/context.h"
#include "cli/output.h"
#include "client/units.h"

namespace tessera::cli {
namespace {

std::string join(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

void add_volume(CLI::App& app, Context& ctx) {
  auto* volume = app.add_subcommand("volume", "Volumes: quota and replication domains");
  volume->require_subcommand(1);

  auto req = std::make_shared<v1::CreateVolumeRequest>();
  auto quota = std::make_shared<uint64_t>(0);
  auto replication = std::make_shared<uint32_t>(0);
  auto* create = volume->add_subcommand("create", "Create a volume mounted at PATH");
  create->add_option("PATH", *req->mutable_path(), "Mount path")->required();
  create->add_option("--quota", *quota, "Quota: 10G, 512M, ... (default: unlimited)")
      ->transform(size_arg())
      ->type_name("SIZE");
  create->add_option("--replication", *replication, "Replica count (default: server's)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  on_run(create, ctx, [&ctx, req, quota, replication]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    req->set_quota_bytes(*quota);
    req->set_replication(*replication);
    TESSERA_ASSIGN_OR_RETURN(v1::CreateVolumeResponse resp, conn->create_volume(*req));
    if (ctx.json) print_json(ctx, volume_json(resp.volume()));
    return Status::ok();
  });

  auto* ls = volume->add_subcommand("ls", "List volumes");
  on_run(ls, ctx, [&ctx]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::ListVolumesResponse resp, conn->list_volumes({}));
    if (ctx.json) {
      Json arr = Json::array();
      for (const auto& v : resp.volumes()) arr.push_back(volume_json(v));
      print_json(ctx, arr);
      return Status::ok();
    }
    TextTable t;
    for (size_t c = 1; c <= 5; ++c) t.align_right(c);
    t.add_row({"PATH", "ID", "QUOTA", "USED", "REPLICATION", "SHARD"});
    for (const auto& v : resp.volumes()) {
      t.add_row({v.path(), std::to_string(v.id()),
                 v.quota_bytes() == 0 ? "-" : client::format_size(v.quota_bytes()),
                 client::format_size(v.used_bytes()), std::to_string(v.replication()),
                 std::to_string(v.shard())});
    }
    *ctx.out << t.render();
    return Status::ok();
  });

  auto rm_path = std::make_shared<std::string>();
  auto* rm = volume->add_subcommand("rm", "Remove a volume");
  rm->add_option("PATH", *rm_path, "Mount path")->required();
  on_run(rm, ctx, [&ctx, rm_path]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::RemoveVolumeRequest r;
    r.set_path(*rm_path);
    return conn->remove_volume(r).status();
  });
}

void add_user(CLI::App& app, Context& ctx) {
  auto* user = app.add_subcommand("user", "Users");
  user->require_subcommand(1);

  auto name = std::make_shared<std::string>();
  auto groups = std::make_shared<std::vector<std::string>>();
  auto admin = std::make_shared<bool>(false);
  auto* create = user->add_subcommand("create", "Create a user (then `key create` for a key)");
  create->add_option("NAME", *name, "User name")->required();
  create->add_option("--group", *groups, "Group to join (repeatable)")
      ->type_name("G")
      ->allow_extra_args(false);
  create->add_flag("--admin", *admin, "Make the user an administrator");
  on_run(create, ctx, [&ctx, name, groups, admin]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::CreateUserRequest r;
    r.set_name(*name);
    for (const auto& g : *groups) r.add_groups(g);
    r.set_admin(*admin);
    TESSERA_ASSIGN_OR_RETURN(v1::CreateUserResponse resp, conn->create_user(r));
    if (ctx.json) print_json(ctx, user_json(resp.user()));
    return Status::ok();
  });

  auto* ls = user->add_subcommand("ls", "List users");
  on_run(ls, ctx, [&ctx]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::ListUsersResponse resp, conn->list_users({}));
    if (ctx.json) {
      Json arr = Json::array();
      for (const auto& u : resp.users()) arr.push_back(user_json(u));
      print_json(ctx, arr);
      return Status::ok();
    }
    TextTable t;
    t.align_right(1);
    t.add_row({"NAME", "UID", "ADMIN", "GROUPS"});
    for (const auto& u : resp.users()) {
      t.add_row({u.name(), std::to_string(u.uid()), u.admin() ? "yes" : "no", join(u.groups())});
    }
    *ctx.out << t.render();
    return Status::ok();
  });
}

void add_key(CLI::App& app, Context& ctx) {
  auto* key = app.add_subcommand("key", "Access keys");
  key->require_subcommand(1);
  auto user = std::make_shared<std::string>();
  auto* create =
      key->add_subcommand("create",
                          "Create an access key; prints a credentials file (save it, the secret is "
                          "not shown again)");
  create->add_option("USER", *user, "User the key belongs to")->required();
  on_run(create, ctx, [&ctx, user]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    v1::CreateKeyRequest r;
    r.set_user(*user);
    TESSERA_ASSIGN_OR_RETURN(v1::CreateKeyResponse resp, conn->create_key(r));
    client::Credentials c;
    c.user = resp.user().empty() ? *user : resp.user();
    c.key_id = resp.key_id();
    c.secret = resp.secret();
    c.endpoint = conn->endpoint();
    if (ctx.json) {
      print_json(ctx, Json{{"user", c.user},
                           {"key_id", c.key_id},
                           {"secret", c.secret},
                           {"endpoint", c.endpoint}});
    } else {
      *ctx.out << client::format_credentials(c);
    }
    return Status::ok();
  });
}

void add_whoami(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("whoami", "Print the user of the credentials in use");
  on_run(cmd, ctx, [&ctx]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::WhoAmIResponse resp, conn->who_am_i({}));
    if (ctx.json) {
      print_json(ctx, user_json(resp.user()));
    } else {
      *ctx.out << resp.user().name() << '\n';
    }
    return Status::ok();
  });
}

void add_status(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("status", "Show the server's status");
  on_run(cmd, ctx, [&ctx]() -> Status {
    TESSERA_ASSIGN_OR_RETURN(client::Connection * conn, ctx.connect());
    TESSERA_ASSIGN_OR_RETURN(v1::StatusResponse resp, conn->server_status({}));
    if (ctx.json) {
      print_json(ctx, status_json(resp));
    } else {
      *ctx.out << render_fields(status_fields(resp));
    }
    return Status::ok();
  });
}

}  // namespace

void register_admin_commands(CLI::App& app, Context& ctx) {
  add_volume(app, ctx);
  add_user(app, ctx);
  add_key(app, ctx);
  add_whoami(app, ctx);
  add_status(app, ctx);
}

}  // namespace tessera::cli
