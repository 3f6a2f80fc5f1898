#include "drivers/amazonec2/credentials.h"

#include "core/machine_store.h"

#include <fmt/format.h>
#include <sstream>

namespace dm::aws {

namespace {

constexpr const char* k_what_to_set =
    "set --amazonec2-access-key and --amazonec2-secret-key, or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE)";

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) {
    return "";
  }
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// A section of an optional file; missing file or section: empty.
Result<std::map<std::string, std::string>> section_of(const std::filesystem::path& path,
                                                      const std::string& section) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return std::map<std::string, std::string>{};
  }
  auto text = read_file(path);
  DM_TRY(text);
  auto sections = parse_aws_ini(*text);
  DM_TRY_CTX(sections, path.string());
  auto found = sections->find(section);
  return found == sections->end() ? std::map<std::string, std::string>{} : found->second;
}

std::string value_of(const std::map<std::string, std::string>& section, const char* key) {
  auto found = section.find(key);
  return found == section.end() ? "" : found->second;
}

} // namespace

Result<IniSections> parse_aws_ini(std::string_view text) {
  IniSections sections;
  std::istringstream lines{std::string(text)};
  std::string line;
  std::string current;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    line = trimmed(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return fail(fmt::format("line {}: a section header is [name]", number));
      }
      current = trimmed(line.substr(1, line.size() - 2));
      sections[current];
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos || current.empty()) {
      return fail(fmt::format("line {}: expected key = value inside a [section]", number));
    }
    sections[current][trimmed(line.substr(0, eq))] = trimmed(line.substr(eq + 1));
  }
  return sections;
}

Result<ResolvedCredentials> resolve_aws_credentials(const CredentialInputs& inputs) {
  ResolvedCredentials resolved;
  if (!inputs.access_key.empty() || !inputs.secret_key.empty()) {
    if (inputs.access_key.empty() || inputs.secret_key.empty()) {
      return fail(ErrorKind::usage, "give both --amazonec2-access-key and --amazonec2-secret-key");
    }
    resolved.credentials = {inputs.access_key, inputs.secret_key, inputs.session_token};
    resolved.source = "flags";
    return resolved;
  }
  const std::string env_key = inputs.env("AWS_ACCESS_KEY_ID");
  const std::string env_secret = inputs.env("AWS_SECRET_ACCESS_KEY");
  if (!env_key.empty() || !env_secret.empty()) {
    if (env_key.empty() || env_secret.empty()) {
      return fail(ErrorKind::usage, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set "
                                    "together");
    }
    resolved.credentials = {env_key, env_secret, inputs.env("AWS_SESSION_TOKEN")};
    resolved.source = "environment";
    return resolved;
  }
  std::string profile = inputs.env("AWS_PROFILE");
  profile = profile.empty() ? "default" : profile;
  std::filesystem::path credentials_file = inputs.env("AWS_SHARED_CREDENTIALS_FILE");
  if (credentials_file.empty()) {
    credentials_file = inputs.home / ".aws" / "credentials";
  }
  std::filesystem::path config_file = inputs.env("AWS_CONFIG_FILE");
  if (config_file.empty()) {
    config_file = inputs.home / ".aws" / "config";
  }
  auto from_credentials = section_of(credentials_file, profile);
  DM_TRY(from_credentials);
  auto from_config = section_of(config_file, profile == "default" ? profile : "profile " + profile);
  DM_TRY(from_config);
  for (const auto* section : {&*from_credentials, &*from_config}) {
    const std::string key = value_of(*section, "aws_access_key_id");
    const std::string secret = value_of(*section, "aws_secret_access_key");
    if (!key.empty() && !secret.empty()) {
      resolved.credentials = {key, secret, value_of(*section, "aws_session_token")};
      resolved.source = "profile " + profile;
      resolved.region = value_of(*from_config, "region");
      return resolved;
    }
  }
  return fail(ErrorKind::usage,
              fmt::format("no AWS credentials found (profile \"{}\" has none in {} or {}): {}",
                          profile, credentials_file.string(), config_file.string(), k_what_to_set));
}

} // namespace dm::aws
