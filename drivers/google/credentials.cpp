#include "drivers/google/credentials.h"

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace dm::google {

namespace {

constexpr std::uintmax_t k_max_credentials_bytes = 64 * 1024;

Result<std::string> read_small_file(const std::filesystem::path& path, const std::string& what) {
  std::error_code error;
  auto size = std::filesystem::file_size(path, error);
  if (error || !std::filesystem::is_regular_file(path, error)) {
    return fail(ErrorKind::usage,
                fmt::format("{} \"{}\" is not a readable file", what, path.string()));
  }
  if (size > k_max_credentials_bytes) {
    return fail(ErrorKind::usage, fmt::format("{} \"{}\" is too large", what, path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return fail(ErrorKind::usage, fmt::format("cannot read {} \"{}\"", what, path.string()));
  }
  return text.str();
}

std::filesystem::path gcloud_adc_path(const EnvLookup& env) {
  if (auto dir = env("CLOUDSDK_CONFIG"); dir && !dir->empty()) {
    return std::filesystem::path(*dir) / "application_default_credentials.json";
  }
  auto home = env("HOME");
  if (!home || home->empty()) {
    return {};
  }
  return std::filesystem::path(*home) / ".config" / "gcloud" /
         "application_default_credentials.json";
}

} // namespace

bool running_on_gce(const std::filesystem::path& dmi_product_name) {
  std::ifstream in(dmi_product_name);
  std::string line;
  std::getline(in, line);
  return line.rfind("Google Compute Engine", 0) == 0;
}

Result<CredentialsPlace> find_credentials(const std::string& flag_path, const EnvLookup& env,
                                          const std::filesystem::path& dmi_product_name) {
  if (!flag_path.empty()) {
    return CredentialsPlace{"--google-credentials", flag_path};
  }
  if (auto path = env("GOOGLE_APPLICATION_CREDENTIALS"); path && !path->empty()) {
    return CredentialsPlace{"GOOGLE_APPLICATION_CREDENTIALS", *path};
  }
  auto adc = gcloud_adc_path(env);
  std::error_code error;
  if (!adc.empty() && std::filesystem::exists(adc, error)) {
    return CredentialsPlace{"application-default", adc};
  }
  if (running_on_gce(dmi_product_name)) {
    return CredentialsPlace{"metadata-server", {}};
  }
  return fail(ErrorKind::usage,
              "no Google credentials: give --google-credentials KEY.json (a service-account "
              "key), set GOOGLE_APPLICATION_CREDENTIALS, or run 'gcloud auth "
              "application-default login'");
}

Result<std::unique_ptr<TokenProvider>> token_provider_for(const CredentialsPlace& place,
                                                          HttpClient& http,
                                                          std::function<long long()> now) {
  if (place.source == "metadata-server") {
    return std::unique_ptr<TokenProvider>(std::make_unique<MetadataTokenSource>(http, now));
  }
  const std::string what = "Google credentials file (" + place.source + ")";
  auto text = read_small_file(place.path, what);
  DM_TRY(text);
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  const std::string type = doc.is_object() && doc.contains("type") && doc["type"].is_string()
                               ? doc["type"].get<std::string>()
                               : "";
  if (type == "authorized_user") {
    auto user = parse_authorized_user(*text);
    DM_TRY_CTX(user, what);
    return std::unique_ptr<TokenProvider>(
        std::make_unique<RefreshTokenSource>(http, std::move(*user), now));
  }
  auto key = parse_service_account_key(*text);
  DM_TRY_CTX(key, fmt::format("{} \"{}\"", what, place.path.string()));
  return std::unique_ptr<TokenProvider>(
      std::make_unique<TokenSource>(http, std::move(*key), k_compute_scope, now));
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str()); // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string(value);
  };
}

} // namespace dm::google
