#pragma once
// CLI11 validators for Tessera's argument syntaxes (client/units.h). Each
// checks the text at parse time, so a bad value is a usage error (exit 2),
// and the converting ones rewrite it to a plain decimal number that CLI11
// then stores in an integer option. They add no text to --help: set the
// option's type_name instead.

#include <CLI/CLI.hpp>

namespace tessera::cli {

// "10G" -> bytes.
CLI::Validator size_arg();
// "7d", "500ms", plain ms -> milliseconds.
CLI::Validator duration_arg();
// Octal "755" -> permission bits.
CLI::Validator mode_arg();
// Checks "PATH:TOPIC".
CLI::Validator topic_arg();
// Checks a JSON object.
CLI::Validator json_object_arg();
// Checks a node id: a positive decimal number.
CLI::Validator node_id_arg();
// Checks an ACL spec ("user:bob:rw,deny:group:guests:w"; "" clears).
CLI::Validator acl_spec_arg();

}  // namespace tessera::cli
