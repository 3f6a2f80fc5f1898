#include "core/docker_context.h"

#include "core/digest.h"
#include "core/machine_store.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

namespace dm {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace {

// The key in a context's Metadata that marks it as made by a dmachine store.
const char* const k_owner_key = "DMachineStore";

fs::path meta_dir(const fs::path& config_dir, const std::string& name) {
  return config_dir / "contexts" / "meta" / docker_context_id(name);
}

fs::path tls_dir(const fs::path& config_dir, const std::string& name) {
  return config_dir / "contexts" / "tls" / docker_context_id(name);
}

// Makes every missing directory of dir with mode 0700; existing ones keep their mode.
Result<void> make_private_dirs(const fs::path& dir) {
  fs::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(fmt::format("create {}: {}", partial.string(), std::strerror(errno)));
    }
  }
  return {};
}

Result<void> remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    return fail(fmt::format("remove {}: {}", dir.string(), ec.message()));
  }
  return {};
}

// config.json as an ordered object ({} when missing); an unreadable or non-object
// file is an error, so that it is never replaced by a smaller one.
Result<ordered_json> read_config(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return ordered_json::object();
  }
  auto text = read_file(path);
  DM_TRY(text);
  auto parsed = ordered_json::parse(*text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return fail(fmt::format("{}: not a JSON object; left unchanged", path.string()));
  }
  return parsed;
}

} // namespace

fs::path docker_config_dir() {
  const char* config = std::getenv("DOCKER_CONFIG");
  if (config != nullptr && *config != '\0') {
    return config;
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') {
    return fs::path(home) / ".docker";
  }
  return {};
}

std::string docker_context_id(const std::string& name) { return hex_lower(sha256(name)); }

ContextOwner docker_context_owner(const fs::path& config_dir, const std::string& name,
                                  const std::string& store) {
  const fs::path meta = meta_dir(config_dir, name) / "meta.json";
  std::error_code ec;
  if (!fs::exists(meta, ec)) {
    return ContextOwner::none;
  }
  auto text = read_file(meta);
  if (!text) {
    return ContextOwner::other;
  }
  auto parsed = ordered_json::parse(*text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("Metadata") ||
      !parsed["Metadata"].is_object()) {
    return ContextOwner::other;
  }
  const auto& metadata = parsed["Metadata"];
  auto owner = metadata.find(k_owner_key);
  return owner != metadata.end() && owner->is_string() && *owner == store ? ContextOwner::dmachine
                                                                          : ContextOwner::other;
}

Result<void> write_docker_context(const fs::path& config_dir, const DockerContextSpec& spec) {
  if (docker_context_owner(config_dir, spec.name, spec.store) == ContextOwner::other) {
    return fail(ErrorKind::already_exists,
                fmt::format("docker context \"{}\" exists and was not made by this dmachine "
                            "store: left unchanged",
                            spec.name));
  }
  ordered_json meta = {
      {"Name", spec.name},
      {"Metadata", {{"Description", spec.description}, {k_owner_key, spec.store}}},
      {"Endpoints", {{"docker", {{"Host", spec.host}, {"SkipTLSVerify", false}}}}},
  };
  // TLS files first: a meta.json that docker can read always has its certificates.
  const fs::path docker_tls = tls_dir(config_dir, spec.name) / "docker";
  DM_TRY(make_private_dirs(docker_tls));
  DM_TRY(write_file_atomic(docker_tls / "ca.pem", spec.ca_pem, 0600));
  DM_TRY(write_file_atomic(docker_tls / "cert.pem", spec.cert_pem, 0600));
  DM_TRY(write_file_atomic(docker_tls / "key.pem", spec.key_pem, 0600));
  const fs::path meta_path = meta_dir(config_dir, spec.name);
  DM_TRY(make_private_dirs(meta_path));
  return write_file_atomic(meta_path / "meta.json", meta.dump(), 0600);
}

Result<bool> remove_docker_context(const fs::path& config_dir, const std::string& name,
                                   const std::string& store) {
  if (docker_context_owner(config_dir, name, store) != ContextOwner::dmachine) {
    return false;
  }
  if (current_docker_context(config_dir) == name) {
    DM_TRY(set_current_docker_context(config_dir, ""));
  }
  DM_TRY(remove_tree(meta_dir(config_dir, name)));
  DM_TRY(remove_tree(tls_dir(config_dir, name)));
  return true;
}

Result<void> set_current_docker_context(const fs::path& config_dir, const std::string& name) {
  const fs::path path = config_dir / "config.json";
  auto config = read_config(path);
  DM_TRY(config);
  if (name.empty()) {
    config->erase("currentContext");
  } else {
    (*config)["currentContext"] = name;
  }
  DM_TRY(make_private_dirs(config_dir));
  return write_file_atomic(path, config->dump(1, '\t') + "\n", 0600);
}

std::string current_docker_context(const fs::path& config_dir) {
  auto config = read_config(config_dir / "config.json");
  if (!config) {
    return "";
  }
  auto it = config->find("currentContext");
  return it != config->end() && it->is_string() ? it->get<std::string>() : "";
}

} // namespace dm
