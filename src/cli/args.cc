#include "cli/args.h"

#include <nlohmann/json.hpp>

#include "client/units.h"

namespace tessera::cli {
namespace {

// A transforming validator from a parser returning Result<integer>.
template <typename Parse>
CLI::Validator converting(Parse parse, std::string desc) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        auto r = parse(text);
        if (!r) return r.status().message();
        text = std::to_string(*r);
        return "";
      },
      std::move(desc));
}

}  // namespace

CLI::Validator size_arg() {
  return converting([](const std::string& t) { return client::parse_size(t); }, "");
}

CLI::Validator duration_arg() {
  return converting([](const std::string& t) { return client::parse_duration(t); }, "");
}

CLI::Validator mode_arg() {
  return converting([](const std::string& t) { return client::parse_mode(t); }, "");
}

CLI::Validator topic_arg() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto r = client::parse_topic_ref(text);
        return r ? "" : r.status().message();
      },
      "");
}

CLI::Validator json_object_arg() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (j.is_discarded()) return "not valid JSON: " + text;
        if (!j.is_object()) return "not a JSON object: " + text;
        return "";
      },
      "");
}

CLI::Validator node_id_arg() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
        if (digits && text.find_first_not_of('0') != std::string::npos) return "";
        return "'" + text + "' is not a node id (a number from 1, see `tessera node ls`)";
      },
      "");
}

CLI::Validator acl_spec_arg() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto r = client::parse_acl_spec(text);
        return r ? "" : r.status().message();
      },
      "");
}

}  // namespace tessera::cli
