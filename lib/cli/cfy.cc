#include "cloudify/cli/cfy.h"

#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include <unistd.h>

#include "cloudify/version.h"

namespace cloudify::cli {
namespace {

// Every subcommand path with its options, for the bash completion script.
void CollectWords(const CLI::App& app, const std::string& prefix,
                  std::vector<std::pair<std::string, std::string>>& entries) {
  std::string words;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    words += sub->get_name() + " ";
  }
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      words += "--" + name + " ";
    }
    for (const std::string& name : option->get_snames()) {
      words += "-" + name + " ";
    }
  }
  entries.emplace_back(prefix, words);
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    CollectWords(*sub, prefix.empty() ? sub->get_name() : prefix + " " + sub->get_name(), entries);
  }
}

// A bash completion script generated from the command tree, so it never goes stale.
std::string BashCompletion(const CLI::App& app) {
  std::vector<std::pair<std::string, std::string>> entries;
  CollectWords(app, "", entries);
  std::ostringstream script;
  script << "# bash completion for cfy: eval \"$(cfy completion bash)\"\n"
         << "_cfy_complete() {\n"
         << "  local cur=${COMP_WORDS[COMP_CWORD]} path=\"\" word i\n"
         << "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
         << "    word=${COMP_WORDS[i]}\n"
         << "    [[ $word == -* ]] && continue\n"
         << "    case \"${path:+$path }$word\" in\n";
  for (const auto& [path, words] : entries) {
    if (!path.empty()) {
      script << "      \"" << path << "\") path=\"" << path << "\" ;;\n";
    }
  }
  script << "    esac\n"
         << "  done\n"
         << "  local words=\"\"\n"
         << "  case \"$path\" in\n";
  for (const auto& [path, words] : entries) {
    script << "    \"" << path << "\") words=\"" << words << "\" ;;\n";
  }
  script << "  esac\n"
         << "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
         << "}\n"
         << "complete -o default -F _cfy_complete cfy\n";
  return script.str();
}

}  // namespace

int RunCfy(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const bool terminal = &out == &std::cout && isatty(STDOUT_FILENO) != 0;
  Session session(out, err, terminal);
  Action action;

  CLI::App app{"cfy: the command line of libcloudify, compatible with Cloudify's cfy", "cfy"};
  // Global flags may come after the subcommand too (`cfy blueprints list --json`).
  app.fallthrough();
  app.add_flag("--json,--json-output", session.json, "Machine-readable output (JSON)");
  app.add_option("-t,--tenant-name", session.tenant_override,
                 "The tenant to act in (default: the profile's)");
  bool version = false;
  app.add_flag("--version", version, "Show the version");

  AddProfileCommands(app, session, action);
  AddBlueprintCommands(app, session, action);
  AddDeploymentCommands(app, session, action);
  AddExecutionCommands(app, session, action);
  AddEventCommands(app, session, action);
  AddNodeCommands(app, session, action);
  AddSecretCommands(app, session, action);
  AddPluginCommands(app, session, action);
  AddAdminCommands(app, session, action);
  AddInstallCommands(app, session, action);
  CLI::App* completion = app.add_subcommand("completion", "Print a shell completion script");
  std::string shell;
  completion->add_option("shell", shell, "The shell (bash)")
      ->required()
      ->check(CLI::IsMember({"bash"}));
  OnRun(completion, action, [&] {
    out << BashCompletion(app);
    return 0;
  });

  std::vector<std::string> reversed;  // CLI11 takes the arguments last first, without argv[0]
  if (!args.empty()) {
    reversed.assign(args.rbegin(), std::prev(args.rend()));
  }
  try {
    app.parse(std::move(reversed));
  } catch (const CLI::ParseError& e) {
    return app.exit(e, out, err);
  }
  if (version) {
    out << "cfy (libcloudify) " << kVersion << ", REST API " << kApiVersion
        << ", compatible with Cloudify Manager " << kCompatibleManagerVersion << "\n";
    return 0;
  }
  if (!action) {
    err << app.help();
    return 2;
  }
  return action();
}

int CfyMain(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return RunCfy(args, std::cout, std::cerr);
}

}  // namespace cloudify::cli
