#include "cmd/completion_scripts.h"

#include "core/shell_quote.h"

#include <fmt/format.h>

namespace dm {

namespace {

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) {
    text += (text.empty() ? "" : " ") + word;
  }
  return text;
}

// Every word generated here is a command, flag, driver or shell name; the
// check keeps a future odd name from breaking out of the script's quotes.
bool is_plain_word(const std::string& word) {
  for (char c : word) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
          c == ' ')) {
      return false;
    }
  }
  return true;
}

// Quoted for bash, zsh and fish alike ('...' with '\'' inside works in all three).
std::string sq(const std::string& text) { return text.empty() ? "''" : shell_quote(text); }

std::vector<std::string> flag_words(const CommandSpec& spec, bool values_only) {
  std::vector<std::string> words;
  for (const auto& flag : spec.flags) {
    if (flag.hidden || (values_only && !flag.takes_value)) {
      continue;
    }
    for (const auto& name : flag.names) {
      if (is_plain_word(name)) {
        words.push_back(name);
      }
    }
  }
  return words;
}

bool has_flag(const CommandSpec& spec, const std::string& name) {
  for (const auto& flag : spec.flags) {
    for (const auto& given : flag.names) {
      if (given == name) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string> driver_flag_words(const DriverEntry& driver) {
  std::vector<std::string> words;
  for (const auto& flag : driver.flags) {
    words.push_back("--" + flag.name);
  }
  return words;
}

// Commands and cluster subcommands, flattened.
std::vector<const CommandSpec*> all_commands(const CompletionInput& input) {
  std::vector<const CommandSpec*> all;
  for (const auto& spec : input.commands) {
    all.push_back(&spec);
    for (const auto& sub : spec.subcommands) {
      all.push_back(&sub);
    }
  }
  return all;
}

std::string positional_words(const CommandSpec& spec) {
  if (spec.name == "completion") {
    return joined(completion_shells());
  }
  std::vector<std::string> types;
  for (const auto& type : spec.positional_types) {
    types.push_back(type.empty() ? "-" : type);
  }
  return joined(types);
}

// The completion function, shared by bash and zsh (through bashcompinit).
const char* const k_bash_function = R"BASH(
_dmachine_names() {
  # Only the store is read (ls -q, cluster ls -q): no machine is contacted.
  if [ "$1" = MACHINE ]; then
    command dmachine "${_dm_store[@]}" ls -q 2>/dev/null
  else
    command dmachine "${_dm_store[@]}" cluster ls -q 2>/dev/null
  fi
}

_dmachine() {
  [ -n "${ZSH_VERSION:-}" ] && setopt localoptions ksharrays
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  local i=1 w cmd="" key
  local -a _dm_store=()
  COMPREPLY=()
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w=${COMP_WORDS[i]}
    if [[ " $_dmachine_global_value_flags " == *" $w "* ]]; then
      [ "$w" = -s ] || [ "$w" = --storage-path ] && _dm_store=(-s "${COMP_WORDS[i+1]}")
      i=$((i + 2))
      continue
    fi
    case $w in
    --storage-path=*) _dm_store=(-s "${w#*=}") ;;
    -*) ;;
    *) cmd=$w; break ;;
    esac
    i=$((i + 1))
  done
  if [ -z "$cmd" ]; then
    if [[ " $_dmachine_global_value_flags " == *" $prev "* ]]; then
      COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$_dmachine_global_flags" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$_dmachine_commands help" -- "$cur"))
    fi
    return 0
  fi
  i=$((i + 1))
  key=$cmd
  if [ "$cmd" = help ]; then
    [ "$i" -eq "$COMP_CWORD" ] && COMPREPLY=($(compgen -W "$_dmachine_commands" -- "$cur"))
    return 0
  fi
  if [ -n "${_dmachine_subcommands[$cmd]:-}" ]; then
    if [ "$i" -ge "$COMP_CWORD" ]; then
      COMPREPLY=($(compgen -W "${_dmachine_subcommands[$cmd]}" -- "$cur"))
      return 0
    fi
    key="$cmd ${COMP_WORDS[i]}"
    i=$((i + 1))
  fi
  local values=" ${_dmachine_value_flags[$key]:-} " driver="" n=0
  local -a types=(${_dmachine_args[$key]:-})
  while [ "$i" -lt "$COMP_CWORD" ]; do
    w=${COMP_WORDS[i]}
    case $w in
    --driver=*) driver=${w#*=} ;;
    --*=*) ;;
    -*)
      if [[ $values == *" $w "* ]]; then
        [ "$w" = --driver ] || [ "$w" = -d ] && driver=${COMP_WORDS[i+1]}
        i=$((i + 1))
      elif [ -n "${_dmachine_driver_value_flags:-}" ] && [[ " $_dmachine_driver_value_flags " == *" $w "* ]]; then
        i=$((i + 1))
      fi
      ;;
    *) n=$((n + 1)) ;;
    esac
    i=$((i + 1))
  done
  if [[ $values == *" $prev "* ]] || [[ " $_dmachine_driver_value_flags " == *" $prev "* && -n "${_dmachine_driver_cmds[$key]:-}" ]]; then
    case $prev in
    --driver | -d) COMPREPLY=($(compgen -W "$_dmachine_drivers" -- "$cur")) ;;
    --shell) COMPREPLY=($(compgen -W "$_dmachine_shells" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
    esac
    return 0
  fi
  if [[ $cur == -* ]]; then
    local flags=${_dmachine_flags[$key]:-}
    if [ -n "${_dmachine_driver_cmds[$key]:-}" ]; then
      if [ -n "$driver" ] && [ -n "${_dmachine_driver_flags[$driver]+set}" ]; then
        flags="$flags ${_dmachine_driver_flags[$driver]}"
      else
        flags="$flags $_dmachine_all_driver_flags"
      fi
    fi
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return 0
  fi
  [ "${#types[@]}" -eq 0 ] && return 0
  [ "$n" -ge "${#types[@]}" ] && n=$((${#types[@]} - 1))
  case ${types[n]} in
  MACHINE | CLUSTER) COMPREPLY=($(compgen -W "$(_dmachine_names "${types[n]}")" -- "$cur")) ;;
  -) COMPREPLY=($(compgen -f -- "$cur")) ;;
  *) COMPREPLY=($(compgen -W "${types[*]}" -- "$cur")) ;;
  esac
  return 0
}
)BASH";

std::string bash_tables(const CompletionInput& input) {
  std::string text;
  std::vector<std::string> commands;
  for (const auto& spec : input.commands) {
    commands.push_back(spec.name);
  }
  std::vector<std::string> globals, global_values;
  for (const auto& flag : input.globals) {
    for (const char* name : {flag.long_name, flag.short_name}) {
      if (name != nullptr) {
        globals.emplace_back(name);
        if (flag.value_name != nullptr) {
          global_values.emplace_back(name);
        }
      }
    }
  }
  std::vector<std::string> drivers, all_driver_flags, driver_values;
  for (const auto& driver : input.drivers) {
    drivers.push_back(driver.name);
    for (const auto& flag : driver.flags) {
      all_driver_flags.push_back("--" + flag.name);
      if (flag.type != FlagType::boolean) {
        driver_values.push_back("--" + flag.name);
      }
    }
  }
  text += fmt::format("_dmachine_commands={}\n", sq(joined(commands)));
  text += fmt::format("_dmachine_global_flags={}\n", sq(joined(globals)));
  text += fmt::format("_dmachine_global_value_flags={}\n", sq(joined(global_values)));
  text += fmt::format("_dmachine_drivers={}\n", sq(joined(drivers)));
  text += fmt::format("_dmachine_shells={}\n", sq(joined(input.env_shells)));
  text += fmt::format("_dmachine_all_driver_flags={}\n", sq(joined(all_driver_flags)));
  text += fmt::format("_dmachine_driver_value_flags={}\n", sq(joined(driver_values)));
  text += "declare -gA _dmachine_subcommands _dmachine_flags _dmachine_value_flags "
          "_dmachine_args _dmachine_driver_cmds _dmachine_driver_flags\n";
  for (const auto& driver : input.drivers) {
    text += fmt::format("_dmachine_driver_flags[{}]={}\n", sq(driver.name),
                        sq(joined(driver_flag_words(driver))));
  }
  for (const auto& spec : input.commands) {
    if (!spec.subcommands.empty()) {
      std::vector<std::string> subs;
      for (const auto& sub : spec.subcommands) {
        subs.push_back(sub.name.substr(spec.name.size() + 1));
      }
      text += fmt::format("_dmachine_subcommands[{}]={}\n", sq(spec.name), sq(joined(subs)));
    }
  }
  for (const CommandSpec* spec : all_commands(input)) {
    const std::string key = sq(spec->name);
    text += fmt::format("_dmachine_flags[{}]={}\n", key, sq(joined(flag_words(*spec, false))));
    text += fmt::format("_dmachine_value_flags[{}]={}\n", key,
                        sq(joined(flag_words(*spec, true))));
    text += fmt::format("_dmachine_args[{}]={}\n", key, sq(positional_words(*spec)));
    if (has_flag(*spec, "--driver")) {
      text += fmt::format("_dmachine_driver_cmds[{}]=1\n", key);
    }
  }
  return text;
}

// The first sentence of a help text, for fish's one-line descriptions.
std::string first_sentence(const std::string& text) {
  auto end = text.find_first_of(".\n");
  return end == std::string::npos ? text : text.substr(0, end);
}

} // namespace

const std::vector<std::string>& completion_shells() {
  static const std::vector<std::string> shells = {"bash", "zsh", "fish"};
  return shells;
}

std::string bash_completion_script(const CompletionInput& input) {
  return "# bash completion for dmachine, generated by `dmachine completion bash`\n" +
         bash_tables(input) + k_bash_function + "complete -F _dmachine dmachine\n";
}

std::string zsh_completion_script(const CompletionInput& input) {
  return "#compdef dmachine\n"
         "# zsh completion for dmachine, generated by `dmachine completion zsh`: the bash\n"
         "# completion, run by zsh's bashcompinit.\n"
         "autoload -U +X bashcompinit && bashcompinit\n" +
         bash_tables(input) + k_bash_function + "complete -F _dmachine dmachine\n";
}

std::string fish_completion_script(const CompletionInput& input) {
  std::string text = "# fish completion for dmachine, generated by `dmachine completion fish`\n"
                     "complete -c dmachine -f\n";
  std::vector<std::string> top;
  for (const auto& spec : input.commands) {
    top.push_back(spec.name);
  }
  for (const auto& flag : input.globals) {
    text += "complete -c dmachine -n __fish_use_subcommand";
    text += fmt::format(" -l {}", std::string(flag.long_name).substr(2));
    if (flag.short_name != nullptr) {
      text += fmt::format(" -s {}", std::string(flag.short_name).substr(1));
    }
    text += flag.value_name != nullptr ? " -r -F" : "";
    text += fmt::format(" -d {}\n", sq(first_sentence(flag.help)));
  }
  for (const auto& spec : input.commands) {
    text += fmt::format("complete -c dmachine -n __fish_use_subcommand -a {} -d {}\n",
                        sq(spec.name), sq(spec.summary));
    if (!spec.subcommands.empty()) {
      std::vector<std::string> subs;
      for (const auto& sub : spec.subcommands) {
        subs.push_back(sub.name.substr(spec.name.size() + 1));
      }
      for (const auto& sub : spec.subcommands) {
        text += fmt::format("complete -c dmachine -n {} -a {} -d {}\n",
                            sq("__fish_seen_subcommand_from " + spec.name +
                                   "; and not __fish_seen_subcommand_from " + joined(subs)),
                            sq(sub.name.substr(spec.name.size() + 1)), sq(sub.summary));
      }
    }
  }
  std::vector<std::string> drivers;
  for (const auto& driver : input.drivers) {
    drivers.push_back(driver.name);
  }
  for (const CommandSpec* spec : all_commands(input)) {
    auto space = spec->name.find(' ');
    std::string condition =
        space == std::string::npos
            ? "__fish_seen_subcommand_from " + spec->name + "; and not __fish_seen_subcommand_from cluster"
            : "__fish_seen_subcommand_from " + spec->name.substr(0, space) +
                  "; and __fish_seen_subcommand_from " + spec->name.substr(space + 1);
    for (const auto& flag : spec->flags) {
      if (flag.hidden) {
        continue;
      }
      text += fmt::format("complete -c dmachine -n {}", sq(condition));
      for (const auto& name : flag.names) {
        text += name.rfind("--", 0) == 0 ? fmt::format(" -l {}", name.substr(2))
                                         : fmt::format(" -s {}", name.substr(1));
      }
      if (flag.takes_value) {
        if (has_flag(*spec, "--driver") && flag.names.front() == "--driver") {
          text += fmt::format(" -x -a {}", sq(joined(drivers)));
        } else if (flag.names.front() == "--shell") {
          text += fmt::format(" -x -a {}", sq(joined(input.env_shells)));
        } else {
          text += " -r -F";
        }
      }
      text += fmt::format(" -d {}\n", sq(first_sentence(flag.help)));
    }
    if (has_flag(*spec, "--driver")) {
      for (const auto& driver : input.drivers) {
        for (const auto& flag : driver.flags) {
          text += fmt::format("complete -c dmachine -n {} -l {}{} -d {}\n", sq(condition),
                              flag.name, flag.type == FlagType::boolean ? "" : " -r",
                              sq(first_sentence(flag.help)));
        }
      }
    }
    bool machines = false, clusters = false;
    for (const auto& type : spec->positional_types) {
      machines = machines || type == k_machine_arg;
      clusters = clusters || type == k_cluster_arg;
    }
    if (machines) {
      text += fmt::format("complete -c dmachine -n {} -a '(dmachine ls -q 2>/dev/null)'\n",
                          sq(condition));
    }
    if (clusters) {
      text += fmt::format("complete -c dmachine -n {} -a '(dmachine cluster ls -q 2>/dev/null)'\n",
                          sq(condition));
    }
    if (spec->name == "completion") {
      text += fmt::format("complete -c dmachine -n {} -a {}\n", sq(condition),
                          sq(joined(completion_shells())));
    }
  }
  return text;
}

} // namespace dm
