#pragma once
// Where the google driver's credentials come from, in the order of Google's client
// libraries: --google-credentials, GOOGLE_APPLICATION_CREDENTIALS, gcloud's
// application-default file, and the metadata server only when this computer is a GCE
// instance (its DMI product name says so; nothing is sent to find out).
#include "drivers/google/oauth.h"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace dm::google {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct CredentialsPlace {
  std::string source;         // "--google-credentials", "GOOGLE_APPLICATION_CREDENTIALS",
                              // "application-default", "metadata-server"
  std::filesystem::path path; // the file, "" for the metadata server
};

// True when the DMI product name file says "Google Compute Engine".
bool running_on_gce(const std::filesystem::path& dmi_product_name);

// The first place that applies; an error says what to set when there is none.
// flag_path: --google-credentials (or the path a machine recorded at create).
Result<CredentialsPlace> find_credentials(const std::string& flag_path, const EnvLookup& env,
                                          const std::filesystem::path& dmi_product_name);

// The token provider for a place: its file is read (service_account or authorized_user).
Result<std::unique_ptr<TokenProvider>>
token_provider_for(const CredentialsPlace& place, HttpClient& http, std::function<long long()> now);

// The process environment.
EnvLookup process_env();

} // namespace dm::google
