#include "cloudify/cli/cfy.h"

#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cloudify/dsl/deployment_plan.h"
#include "cloudify/dsl/parser.h"
#include "cloudify/ids.h"

namespace cloudify::cli {
namespace {

struct ValidateArgs {
  std::string path;
  std::vector<std::string> inputs;
  bool json = false;
};

// Parse + deployment plan; counts on success.
Status Validate(const ValidateArgs& args, size_t& nodes, size_t& instances) {
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& arg : args.inputs) {
    auto parsed = dsl::ParseInputsArgument(arg);
    if (!parsed.ok()) {
      return parsed.status();
    }
    for (auto it = parsed->begin(); it != parsed->end(); ++it) {
      inputs[it.key()] = it.value();
    }
  }
  auto plan = dsl::ParseBlueprintFile(args.path);
  if (!plan.ok()) {
    return plan.status();
  }
  IdGenerator ids;
  auto deployment = dsl::PrepareDeploymentPlan(*plan, inputs, ids);
  if (!deployment.ok()) {
    return deployment.status();
  }
  nodes = deployment->nodes.size();
  instances = deployment->node_instances.size();
  return Status::Ok();
}

int RunValidate(const ValidateArgs& args, std::ostream& out, std::ostream& err) {
  size_t nodes = 0;
  size_t instances = 0;
  Status status = Validate(args, nodes, instances);
  if (args.json) {
    nlohmann::json result;
    if (status.ok()) {
      result = {{"valid", true}, {"nodes", nodes}, {"node_instances", instances}};
    } else {
      SourceLocation where = status.location().value_or(
          SourceLocation{std::filesystem::path(args.path).filename().string(), 0, 0});
      result = {{"valid", false},
                {"error",
                 {{"code", std::string(ErrorCodeName(status.code()))},
                  {"message", status.message()},
                  {"file", where.file},
                  {"line", where.line},
                  {"column", where.column}}}};
    }
    out << result.dump() << "\n";
  } else if (status.ok()) {
    out << "Blueprint validated: " << nodes << " nodes, " << instances << " node instances\n";
  } else {
    err << status.ToString() << "\n";
  }
  return status.ok() ? 0 : 1;
}

}  // namespace

int RunCfy(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"cfy: the command line of libcloudify, compatible with Cloudify's cfy", "cfy"};
  app.require_subcommand(1);
  CLI::App* blueprints = app.add_subcommand("blueprints", "Manage blueprints");
  blueprints->require_subcommand(1);
  CLI::App* validate =
      blueprints->add_subcommand("validate", "Validate a blueprint offline (parse and plan)");
  ValidateArgs validate_args;
  validate->add_option("path", validate_args.path, "The blueprint file")->required();
  validate->add_option("-i,--inputs", validate_args.inputs,
                       "Inputs: a YAML/JSON file, inline YAML/JSON, or 'k=v;k2=v2'");
  validate->add_flag("--json", validate_args.json, "Print the verdict as one JSON object");

  std::vector<std::string> reversed;  // CLI11 takes the arguments last first, without argv[0]
  if (!args.empty()) {
    reversed.assign(args.rbegin(), std::prev(args.rend()));
  }
  try {
    app.parse(std::move(reversed));
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }
  if (validate->parsed()) {
    return RunValidate(validate_args, out, err);
  }
  err << app.help();
  return 2;
}

int CfyMain(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return RunCfy(args, std::cout, std::cerr);
}

}  // namespace cloudify::cli
