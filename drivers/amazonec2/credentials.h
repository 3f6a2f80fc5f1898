#pragma once
// AWS credentials in the SDKs' order: the driver's flags, the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then a profile
// (AWS_PROFILE or "default") of the shared credentials file and the config file.
// They are read at run time and never stored: a machine's record keeps only where
// they came from (source), so a later command can say what to set.
#include "core/result.h"
#include "drivers/amazonec2/sigv4.h"

#include <filesystem>
#include <functional>
#include <map>
#include <string>

namespace dm::aws {

struct CredentialInputs {
  std::string access_key; // --amazonec2-access-key
  std::string secret_key; // --amazonec2-secret-key
  std::string session_token;
  std::function<std::string(const char*)> env; // "" when unset
  std::filesystem::path home;                   // for ~/.aws/
};

struct ResolvedCredentials {
  AwsCredentials credentials;
  std::string source;  // "flags", "environment" or "profile NAME"
  std::string region;  // the profile's region, when it has one
};

Result<ResolvedCredentials> resolve_aws_credentials(const CredentialInputs& inputs);

// An INI file as the AWS tools write it: [section] headers, key = value lines, # and ;
// comments. Section names are kept as written ("profile dev" in the config file).
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
Result<IniSections> parse_aws_ini(std::string_view text);

} // namespace dm::aws
