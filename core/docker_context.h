#pragma once
// The docker CLI's own context store, written without a docker binary:
// <config>/contexts/meta/<sha256 hex of name>/meta.json and
// <config>/contexts/tls/<sha256>/docker/{ca,cert,key}.pem; and currentContext in
// <config>/config.json. A context is dmachine's when its Metadata names our store.
#include "core/result.h"

#include <filesystem>
#include <string>

namespace dm {

// $DOCKER_CONFIG, else $HOME/.docker; "" when neither is set.
std::filesystem::path docker_config_dir();

// The directory name of a context in the store: lower-case hex SHA-256 of its name.
std::string docker_context_id(const std::string& name);

struct DockerContextSpec {
  std::string name;
  std::string description;
  std::string host; // tcp://IP:2376
  std::string store; // the dmachine store that owns it (marks it as ours)
  std::string ca_pem, cert_pem, key_pem;
};

enum class ContextOwner { none, dmachine, other };
// Who made the context called name: nobody (absent), this dmachine store, or someone else.
ContextOwner docker_context_owner(const std::filesystem::path& config_dir, const std::string& name,
                                  const std::string& store);

// Writes (or rewrites) the context; fails with already_exists, changing nothing, when a
// context of that name exists that this store did not make. Dirs 0700, files 0600.
Result<void> write_docker_context(const std::filesystem::path& config_dir,
                                  const DockerContextSpec& spec);

// Removes the context when this store made it (true), and resets currentContext when it
// named it. A context someone else made is left alone (false).
Result<bool> remove_docker_context(const std::filesystem::path& config_dir, const std::string& name,
                                   const std::string& store);

// Sets currentContext in config.json ("" removes the key: the default context), keeping
// every other key; atomic, 0600.
Result<void> set_current_docker_context(const std::filesystem::path& config_dir,
                                        const std::string& name);
// currentContext of config.json, "" when unset or unreadable.
std::string current_docker_context(const std::filesystem::path& config_dir);

} // namespace dm
