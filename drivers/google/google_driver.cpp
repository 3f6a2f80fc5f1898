#include "drivers/google/google_driver.h"

#include "core/json_fields.h"
#include "drivers/google/credentials.h"
#include "drivers/google/gce_api.h"
#include "drivers/google/gce_requests.h"

#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <thread>

namespace dm {

namespace {

using google::ComputeCaller;
using google::GceInstance;
using nlohmann::json;

constexpr const char* k_default_zone = "us-central1-a";
constexpr const char* k_default_machine_type = "n1-standard-1";
constexpr const char* k_default_image_family =
    "projects/debian-cloud/global/images/family/debian-12";
constexpr const char* k_default_user = "docker-user";
constexpr const char* k_default_service_account = "default";
constexpr const char* k_default_scopes =
    "https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/"
    "logging.write,https://www.googleapis.com/auth/monitoring.write";
constexpr const char* k_dmi_product_name = "/sys/class/dmi/id/product_name";
constexpr std::chrono::seconds k_instance_timeout{600};
constexpr std::chrono::seconds k_rule_timeout{300};
constexpr int k_engine_port = 2376;
constexpr int k_max_list_pages = 20;

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) {
      parts.push_back(part);
    }
  }
  return parts;
}

bool valid_name(const std::string& text) {
  if (text.empty() || text.size() > 63) {
    return false;
  }
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return text.front() >= 'a' && text.front() <= 'z' && text.back() != '-';
}

// A project id, zone, or image path piece that goes into a URL path.
bool safe_path(const std::string& text) {
  if (text.empty() || text.find("..") != std::string::npos) {
    return false;
  }
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.' || c == '/' || c == ':')) {
      return false;
    }
  }
  return true;
}

// "projects/P/global/images/..." from a full URL, a projects/ path or docker-machine's
// "P/global/images/NAME".
std::string image_path(const std::string& image) {
  if (auto at = image.find("projects/"); at != std::string::npos) {
    return image.substr(at);
  }
  return "projects/" + image;
}

long long unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class GoogleDriver final : public Driver {
public:
  GoogleDriver(DriverContext context, const json& config) : m_context(std::move(context)) {
    m_ip = config.value("IPAddress", "");
    m_ssh_user = config.value("SSHUser", k_default_user);
    m_zone = config.value("Zone", k_default_zone);
    m_machine_type = config.value("MachineType", k_default_machine_type);
    m_machine_image = config.value("MachineImage", "");
    m_disk_type = config.value("DiskType", "pd-standard");
    m_disk_size = config.value("DiskSize", 10);
    m_address = config.value("Address", "");
    m_network = config.value("Network", "default");
    m_subnetwork = config.value("Subnetwork", "");
    m_preemptible = config.value("Preemptible", false);
    m_use_internal_ip = config.value("UseInternalIP", false);
    m_use_internal_ip_only = config.value("UseInternalIPOnly", false);
    m_service_account = config.value("ServiceAccount", k_default_service_account);
    m_scopes = config.value("Scopes", k_default_scopes);
    m_project = config.value("Project", "");
    m_tags = config.value("Tags", "");
    m_use_existing = config.value("UseExisting", false);
    m_open_ports = string_list_field(config, "OpenPorts");
    m_endpoint = config.value("Endpoint", "");
    m_credentials_source = config.value("CredentialsSource", "");
    m_credentials_path = config.value("CredentialsPath", "");
    m_firewall_rules = string_list_field(config, "FirewallRules");
    m_firewall_tags = string_list_field(config, "FirewallTags");
    m_instance_owned = config.value("InstanceOwned", false);
    m_added_tags = string_list_field(config, "AddedTags");
  }

  [[nodiscard]] json config() const override {
    return {{"IPAddress", m_ip},
            {"MachineName", m_context.machine_name},
            {"SSHUser", m_ssh_user},
            {"SSHPort", 22},
            {"SSHKeyPath", (m_context.machine_dir / "id_rsa").string()},
            {"StorePath", m_context.store_path.string()},
            {"SwarmMaster", false},
            {"SwarmHost", ""},
            {"SwarmDiscovery", ""},
            {"Zone", m_zone},
            {"MachineType", m_machine_type},
            {"MachineImage", m_machine_image},
            {"DiskType", m_disk_type},
            {"Address", m_address},
            {"Network", m_network},
            {"Subnetwork", m_subnetwork},
            {"Preemptible", m_preemptible},
            {"UseInternalIP", m_use_internal_ip},
            {"UseInternalIPOnly", m_use_internal_ip_only},
            {"ServiceAccount", m_service_account},
            {"Scopes", m_scopes},
            {"DiskSize", m_disk_size},
            {"Project", m_project},
            {"Tags", m_tags},
            {"UseExisting", m_use_existing},
            {"OpenPorts", m_open_ports},
            // dmachine's own: where the API and the credentials are (never a secret), and
            // what create made, for rm.
            {"Endpoint", m_endpoint},
            {"CredentialsSource", m_credentials_source},
            {"CredentialsPath", m_credentials_path},
            {"FirewallRules", m_firewall_rules},
            {"FirewallTags", m_firewall_tags},
            {"InstanceOwned", m_instance_owned},
            {"AddedTags", m_added_tags}};
  }

  Result<void> set_options(const DriverOptions& options) override {
    m_project = options.get("google-project");
    m_zone = options.get("google-zone", k_default_zone);
    m_use_existing = options.has("google-use-existing");
    m_machine_type = options.get("google-machine-type", k_default_machine_type);
    m_machine_image = options.get("google-machine-image");
    m_disk_type = options.get("google-disk-type", "pd-standard");
    m_address = options.get("google-address");
    m_network = options.get("google-network", "default");
    m_subnetwork = options.get("google-subnetwork");
    m_preemptible = options.has("google-preemptible");
    m_use_internal_ip_only = options.has("google-use-internal-ip-only");
    m_use_internal_ip = options.has("google-use-internal-ip") || m_use_internal_ip_only;
    m_service_account = options.get("google-service-account", k_default_service_account);
    m_scopes = options.get("google-scopes", k_default_scopes);
    m_tags = options.get("google-tags");
    m_open_ports = options.get_list("google-open-port");
    m_ssh_user = options.get("google-username", k_default_user);
    m_endpoint = options.get("google-endpoint");
    const std::string size = options.get("google-disk-size", "10");
    try {
      size_t used = 0;
      m_disk_size = std::stoi(size, &used);
      if (used != size.size() || m_disk_size < 1 || m_disk_size > 65536) {
        throw std::invalid_argument(size);
      }
    } catch (const std::exception&) {
      return fail(ErrorKind::usage,
                  fmt::format("--google-disk-size \"{}\" is not a size in GB (1-65536)", size));
    }
    if (m_project.empty()) {
      return fail(ErrorKind::usage, "no Google Cloud Project name specified (--google-project)");
    }
    DM_TRY(check_path_names());
    for (auto [flag, value] : {std::pair{"google-machine-type", &m_machine_type},
                               std::pair{"google-disk-type", &m_disk_type}}) {
      if (!safe_path(*value) || value->find('/') != std::string::npos) {
        return fail(ErrorKind::usage, fmt::format("--{} \"{}\" is not a name", flag, *value));
      }
    }
    for (auto [flag, value] :
         {std::pair{"google-network", &m_network}, std::pair{"google-subnetwork", &m_subnetwork},
          std::pair{"google-machine-image", &m_machine_image}}) {
      if (!value->empty() && !safe_path(*value)) {
        return fail(ErrorKind::usage,
                    fmt::format("--{} \"{}\" is not a name or path", flag, *value));
      }
    }
    if (m_ssh_user.empty() || !valid_name(m_ssh_user)) {
      return fail(ErrorKind::usage,
                  fmt::format("--google-username \"{}\" is not a user name", m_ssh_user));
    }
    DM_TRY(google::parse_tags(m_tags));
    for (const auto& port : m_open_ports) {
      DM_TRY(google::parse_open_port(port));
    }
    DM_TRY(google::compute_endpoint(m_endpoint));
    auto place = google::find_credentials(options.get("google-credentials"), google::process_env(),
                                          k_dmi_product_name);
    DM_TRY(place);
    m_credentials_source = place->source;
    m_credentials_path = place->path.string();
    // What create will make, recorded before it starts so that rm can clean up even
    // after a killed create.
    m_instance_owned = !m_use_existing;
    plan_firewall_rules();
    return {};
  }

  Result<void> pre_create_check() override {
    auto api = caller();
    DM_TRY(api);
    // Credentials, project and zone in one call.
    DM_TRY(
        google::compute_call(**api, "GET", fmt::format("projects/{}/zones/{}", m_project, m_zone)));
    auto existing = get_instance();
    if (m_use_existing) {
      if (!existing) {
        return fail(existing.error().kind == ErrorKind::not_found
                        ? Error{ErrorKind::precreate,
                                fmt::format("unable to find instance \"{}\" in zone \"{}\"",
                                            m_context.machine_name, m_zone)}
                        : existing.error());
      }
      return {};
    }
    if (existing) {
      return fail(ErrorKind::precreate,
                  fmt::format("instance \"{}\" already exists in zone \"{}\" (use "
                              "--google-use-existing to take it over)",
                              m_context.machine_name, m_zone));
    }
    if (existing.error().kind != ErrorKind::not_found) {
      return fail(existing.error());
    }
    DM_TRY(google::compute_call(
        **api, "GET",
        fmt::format("projects/{}/zones/{}/machineTypes/{}", m_project, m_zone, m_machine_type)));
    // The image is resolved now (a family to its newest image), so the record says what
    // the machine runs.
    const std::string wanted =
        m_machine_image.empty() ? k_default_image_family : image_path(m_machine_image);
    auto image = google::compute_call(**api, "GET", wanted);
    DM_TRY_CTX(image, "machine image");
    auto doc = json::parse(*image, nullptr, false);
    if (!doc.is_object() || !doc.contains("selfLink") || !doc["selfLink"].is_string()) {
      return fail(fmt::format("the image {} has no selfLink", wanted));
    }
    const std::string resolved = image_path(doc["selfLink"].get<std::string>());
    if (!safe_path(resolved)) {
      return fail(fmt::format("the image {} has an unusable selfLink", wanted));
    }
    m_machine_image = resolved;
    return {};
  }

  Result<void> create() override {
    auto api = caller();
    DM_TRY(api);
    std::ifstream pub(m_context.machine_dir / "id_rsa.pub");
    std::string public_key;
    std::getline(pub, public_key);
    if (public_key.empty()) {
      return fail("the machine's SSH public key (id_rsa.pub) is missing");
    }
    for (const auto& rule : firewall_rules()) {
      DM_TRY(ensure_rule(rule));
    }
    if (m_use_existing) {
      DM_TRY(take_over_instance(public_key));
    } else {
      google::GceInstanceSpec spec;
      spec.name = m_context.machine_name;
      spec.zone = m_zone;
      spec.machine_type = m_machine_type;
      spec.source_image = m_machine_image;
      spec.disk_size_gb = m_disk_size;
      spec.disk_type = m_disk_type;
      spec.network = m_network;
      spec.subnetwork = m_subnetwork;
      auto address = static_address();
      DM_TRY(address);
      spec.nat_ip = *address;
      spec.external_ip = !m_use_internal_ip_only;
      spec.preemptible = m_preemptible;
      spec.tags = instance_tags();
      spec.ssh_user = m_ssh_user;
      spec.ssh_public_key = public_key;
      spec.service_account = m_service_account;
      spec.scopes = split_commas(m_scopes);
      DM_TRY(
          google::compute_operation(**api, m_project, "POST",
                                    fmt::format("projects/{}/zones/{}/instances?requestId={}",
                                                m_project, m_zone, google::random_request_id()),
                                    google::instance_insert_body(spec).dump(), k_instance_timeout,
                                    fmt::format("create instance \"{}\"", m_context.machine_name)));
    }
    return refresh_ip();
  }

  Result<void> start() override {
    DM_TRY(instance_action("start"));
    return refresh_ip();
  }
  Result<void> stop() override {
    DM_TRY(instance_action("stop"));
    return {};
  }
  Result<void> restart() override {
    DM_TRY(instance_action("reset"));
    return refresh_ip();
  }
  Result<void> kill() override { return stop(); }

  Result<void> remove() override {
    auto api = caller();
    DM_TRY(api);
    if (m_instance_owned) {
      auto deleted = google::compute_operation(
          **api, m_project, "DELETE",
          fmt::format("projects/{}/zones/{}/instances/{}?requestId={}", m_project, m_zone,
                      m_context.machine_name, google::random_request_id()),
          "", k_instance_timeout, fmt::format("delete instance \"{}\"", m_context.machine_name));
      if (!deleted && deleted.error().kind != ErrorKind::not_found) {
        return deleted;
      }
    } else if (!m_added_tags.empty()) {
      DM_TRY(give_back_instance());
    }
    return remove_unused_rules();
  }

  Result<MachineState> state() override {
    auto instance = get_instance();
    if (!instance) {
      if (instance.error().kind == ErrorKind::not_found) {
        return MachineState::none;
      }
      return fail(instance.error());
    }
    if (instance->status == "RUNNING") {
      remember_ip(*instance);
    }
    return google::gce_machine_state(instance->status);
  }

  // Asked of the API each time, as docker-machine does: an instance that was stopped
  // and started may have another external address.
  Result<std::string> ip() override {
    auto instance = get_instance();
    DM_TRY(instance);
    if (instance->status != "RUNNING") {
      return fail(ErrorKind::not_running, "Host is not running");
    }
    remember_ip(*instance);
    if (m_ip.empty()) {
      return fail(ErrorKind::not_running, "the instance has no address yet");
    }
    return m_ip;
  }

  Result<SshTarget> ssh_target() override {
    auto address = ip();
    DM_TRY(address);
    SshTarget target;
    target.host = *address;
    target.port = 22;
    target.user = m_ssh_user;
    target.key_path = m_context.machine_dir / "id_rsa";
    target.known_hosts_path = m_context.machine_dir / "known_hosts";
    return target;
  }

  [[nodiscard]] StateCheck state_check() const override { return StateCheck::local; }
  // Boot, then the guest agent installs the key: SSH refuses the user for a while.
  [[nodiscard]] int ssh_wait_seconds() const override { return 180; }

private:
  // The names that go into every URL path (from flags, or from a stored record).
  Result<void> check_path_names() const {
    for (auto [flag, value] :
         {std::pair{"google-project", &m_project}, std::pair{"google-zone", &m_zone}}) {
      if (!safe_path(*value) || value->find('/') != std::string::npos) {
        return fail(ErrorKind::usage, fmt::format("--{} \"{}\" is not a name", flag, *value));
      }
    }
    if (!valid_name(m_context.machine_name)) {
      return fail(ErrorKind::usage,
                  fmt::format("\"{}\" cannot be a Compute Engine instance name (lower-case "
                              "letters, digits and dashes, starting with a letter, at most 63)",
                              m_context.machine_name));
    }
    return {};
  }

  Result<ComputeCaller*> caller() {
    if (m_caller) {
      return m_caller.get();
    }
    DM_TRY(check_path_names());
    if (m_context.http_client == nullptr) {
      return fail("the google driver has no HTTP client");
    }
    auto endpoint = google::compute_endpoint(m_endpoint);
    DM_TRY(endpoint);
    google::CredentialsPlace place{m_credentials_source, m_credentials_path};
    if (place.source.empty()) {
      auto found = google::find_credentials("", google::process_env(), k_dmi_product_name);
      DM_TRY(found);
      place = *found;
    } else if (place.source == "application-default") {
      // gcloud's file may have moved with HOME or CLOUDSDK_CONFIG: look again.
      auto found = google::find_credentials("", google::process_env(), k_dmi_product_name);
      if (found && found->source == "application-default") {
        place = *found;
      }
    }
    auto tokens = google::token_provider_for(place, *m_context.http_client, unix_now);
    DM_TRY(tokens);
    m_tokens = std::move(*tokens);
    m_caller = std::make_unique<ComputeCaller>(
        ComputeCaller{*m_context.http_client, *m_tokens, *endpoint, 6, std::chrono::seconds(120),
                      [](std::chrono::milliseconds pause) { std::this_thread::sleep_for(pause); }});
    return m_caller.get();
  }

  // --google-address: an IPv4 address as it is, or the name of a reserved regional address.
  Result<std::string> static_address() {
    if (m_address.empty() || m_address.find_first_not_of("0123456789.") == std::string::npos) {
      return m_address;
    }
    if (!valid_name(m_address)) {
      return fail(ErrorKind::usage,
                  fmt::format("--google-address \"{}\" is neither an IPv4 address nor an "
                              "address name",
                              m_address));
    }
    auto api = caller();
    DM_TRY(api);
    const std::string region = m_zone.substr(0, m_zone.find_last_of('-'));
    auto body = google::compute_call(
        **api, "GET",
        fmt::format("projects/{}/regions/{}/addresses/{}", m_project, region, m_address));
    DM_TRY_CTX(body, "--google-address");
    auto doc = json::parse(*body, nullptr, false);
    if (!doc.is_object() || !doc.contains("address") || !doc["address"].is_string()) {
      return fail(fmt::format("the reserved address \"{}\" has no address", m_address));
    }
    return doc["address"].get<std::string>();
  }

  [[nodiscard]] std::string instance_path() const {
    return fmt::format("projects/{}/zones/{}/instances/{}", m_project, m_zone,
                       m_context.machine_name);
  }

  Result<GceInstance> get_instance() {
    auto api = caller();
    DM_TRY(api);
    auto body = google::compute_call(**api, "GET", instance_path());
    DM_TRY(body);
    return google::parse_gce_instance(*body);
  }

  void remember_ip(const GceInstance& instance) {
    m_ip = m_use_internal_ip ? instance.network_ip : instance.nat_ip;
  }

  Result<void> refresh_ip() {
    auto instance = get_instance();
    DM_TRY(instance);
    remember_ip(*instance);
    return {};
  }

  Result<void> instance_action(const std::string& action) {
    auto api = caller();
    DM_TRY(api);
    return google::compute_operation(
        **api, m_project, "POST",
        fmt::format("{}/{}?requestId={}", instance_path(), action, google::random_request_id()), "",
        k_instance_timeout, fmt::format("{} instance \"{}\"", action, m_context.machine_name));
  }

  [[nodiscard]] std::vector<google::FirewallRule> firewall_rules() const {
    std::vector<google::FirewallRule> rules = {google::engine_rule(m_network, k_engine_port),
                                               google::swarm_rule(m_network)};
    if (!m_open_ports.empty()) {
      std::vector<google::OpenPort> ports;
      for (const auto& text : m_open_ports) {
        if (auto port = google::parse_open_port(text)) {
          ports.push_back(*port);
        }
      }
      rules.push_back(google::open_ports_rule(m_network, ports));
    }
    return rules;
  }

  void plan_firewall_rules() {
    m_firewall_rules.clear();
    m_firewall_tags.clear();
    for (const auto& rule : firewall_rules()) {
      m_firewall_rules.push_back(rule.name);
      m_firewall_tags.push_back(rule.target_tag);
    }
  }

  [[nodiscard]] std::vector<std::string> instance_tags() const {
    std::vector<std::string> tags;
    for (const auto& tag : m_firewall_tags) {
      if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
        tags.push_back(tag);
      }
    }
    auto user_tags = google::parse_tags(m_tags); // checked by set_options
    for (const auto& tag : user_tags ? *user_tags : std::vector<std::string>{}) {
      if (std::find(tags.begin(), tags.end(), tag) == tags.end()) {
        tags.push_back(tag);
      }
    }
    return tags;
  }

  // Made once per project and network, then shared by every machine with its tag.
  Result<void> ensure_rule(const google::FirewallRule& rule) {
    auto api = caller();
    DM_TRY(api);
    const std::string path = fmt::format("projects/{}/global/firewalls", m_project);
    auto existing = google::compute_call(**api, "GET", path + "/" + rule.name);
    if (existing) {
      return {};
    }
    if (existing.error().kind != ErrorKind::not_found) {
      return fail(existing.error());
    }
    auto made = google::compute_operation(
        **api, m_project, "POST", path + "?requestId=" + google::random_request_id(),
        rule.body.dump(), k_rule_timeout, fmt::format("create firewall rule \"{}\"", rule.name));
    if (!made && made.error().message.find("alreadyExists") != std::string::npos) {
      return {}; // another create made it in the meantime
    }
    return made;
  }

  // Every tag carried by an instance of the project other than this machine's.
  Result<std::vector<std::string>> tags_in_use() {
    auto api = caller();
    DM_TRY(api);
    std::vector<std::string> tags;
    std::string page_token;
    for (int page = 0; page < k_max_list_pages; ++page) {
      std::string path = fmt::format("projects/{}/aggregated/instances", m_project);
      if (!page_token.empty()) {
        path += "?pageToken=" + page_token;
      }
      auto body = google::compute_call(**api, "GET", path);
      DM_TRY(body);
      auto doc = json::parse(*body, nullptr, false);
      if (!doc.is_object() || !doc.contains("items") || !doc["items"].is_object()) {
        return tags;
      }
      for (const auto& [scope, entry] : doc["items"].items()) {
        if (!entry.is_object() || !entry.contains("instances") || !entry["instances"].is_array()) {
          continue;
        }
        for (const auto& instance : entry["instances"]) {
          auto parsed = google::parse_gce_instance(instance.dump());
          if (!parsed || (parsed->name == m_context.machine_name && scope == "zones/" + m_zone &&
                          m_instance_owned)) {
            continue;
          }
          tags.insert(tags.end(), parsed->tags.begin(), parsed->tags.end());
        }
      }
      if (!doc.contains("nextPageToken") || !doc["nextPageToken"].is_string() ||
          !safe_path(doc["nextPageToken"].get<std::string>())) {
        return tags;
      }
      page_token = doc["nextPageToken"].get<std::string>();
    }
    return fail("too many pages of instances to tell whether firewall rules are in use");
  }

  // A rule goes when no instance carries its target tag any more, and only if dmachine
  // made it (its description says so).
  Result<void> remove_unused_rules() {
    auto api = caller();
    DM_TRY(api);
    auto in_use = tags_in_use();
    DM_TRY(in_use);
    for (size_t i = 0; i < m_firewall_rules.size() && i < m_firewall_tags.size(); ++i) {
      const std::string& tag = m_firewall_tags[i];
      if (std::find(in_use->begin(), in_use->end(), tag) != in_use->end()) {
        continue;
      }
      const std::string path =
          fmt::format("projects/{}/global/firewalls/{}", m_project, m_firewall_rules[i]);
      auto rule = google::compute_call(**api, "GET", path);
      if (!rule) {
        if (rule.error().kind == ErrorKind::not_found) {
          continue;
        }
        return fail(rule.error());
      }
      auto doc = json::parse(*rule, nullptr, false);
      if (!doc.is_object() || doc.value("description", "").rfind(google::k_rule_marker, 0) != 0) {
        continue;
      }
      auto deleted = google::compute_operation(
          **api, m_project, "DELETE", path + "?requestId=" + google::random_request_id(), "",
          k_rule_timeout, fmt::format("delete firewall rule \"{}\"", m_firewall_rules[i]));
      if (!deleted && deleted.error().kind != ErrorKind::not_found) {
        return deleted;
      }
    }
    return {};
  }

  // --google-use-existing: the instance gets dmachine's tags and the machine's key.
  Result<void> take_over_instance(const std::string& public_key) {
    auto api = caller();
    DM_TRY(api);
    auto body = google::compute_call(**api, "GET", instance_path());
    DM_TRY(body);
    auto doc = json::parse(*body, nullptr, false);
    json tags = doc.value("tags", json::object());
    json items = tags.value("items", json::array());
    for (const auto& tag : instance_tags()) {
      if (std::find(items.begin(), items.end(), tag) == items.end()) {
        items.push_back(tag);
        m_added_tags.push_back(tag);
      }
    }
    if (!m_added_tags.empty()) {
      DM_TRY(google::compute_operation(
          **api, m_project, "POST", instance_path() + "/setTags",
          json{{"items", items}, {"fingerprint", tags.value("fingerprint", "")}}.dump(),
          k_instance_timeout, "add dmachine's network tags"));
    }
    json metadata = doc.value("metadata", json::object());
    json metadata_items = metadata.value("items", json::array());
    const std::string line = m_ssh_user + ":" + public_key;
    bool found = false;
    for (auto& item : metadata_items) {
      if (item.value("key", "") == "ssh-keys" && item.contains("value") &&
          item["value"].is_string()) {
        item["value"] = item["value"].get<std::string>() + "\n" + line;
        found = true;
      }
    }
    if (!found) {
      metadata_items.push_back({{"key", "ssh-keys"}, {"value", line}});
    }
    return google::compute_operation(
        **api, m_project, "POST", instance_path() + "/setMetadata",
        json{{"items", metadata_items}, {"fingerprint", metadata.value("fingerprint", "")}}.dump(),
        k_instance_timeout, "add the machine's SSH key to the instance's ssh-keys");
  }

  // rm of a taken-over instance: it stays; the tags dmachine added go.
  Result<void> give_back_instance() {
    auto api = caller();
    DM_TRY(api);
    auto body = google::compute_call(**api, "GET", instance_path());
    if (!body && body.error().kind == ErrorKind::not_found) {
      return {};
    }
    DM_TRY(body);
    auto doc = json::parse(*body, nullptr, false);
    json tags = doc.value("tags", json::object());
    json kept = json::array();
    for (const auto& tag : tags.value("items", json::array())) {
      if (std::find(m_added_tags.begin(), m_added_tags.end(), tag) == m_added_tags.end()) {
        kept.push_back(tag);
      }
    }
    return google::compute_operation(
        **api, m_project, "POST", instance_path() + "/setTags",
        json{{"items", kept}, {"fingerprint", tags.value("fingerprint", "")}}.dump(),
        k_instance_timeout, "remove dmachine's network tags");
  }

  DriverContext m_context;
  std::string m_ip;
  std::string m_ssh_user;
  std::string m_zone;
  std::string m_machine_type;
  std::string m_machine_image;
  std::string m_disk_type;
  int m_disk_size = 10;
  std::string m_address;
  std::string m_network;
  std::string m_subnetwork;
  bool m_preemptible = false;
  bool m_use_internal_ip = false;
  bool m_use_internal_ip_only = false;
  std::string m_service_account;
  std::string m_scopes;
  std::string m_project;
  std::string m_tags;
  bool m_use_existing = false;
  std::vector<std::string> m_open_ports;
  std::string m_endpoint;
  std::string m_credentials_source;
  std::string m_credentials_path;
  std::vector<std::string> m_firewall_rules;
  std::vector<std::string> m_firewall_tags;
  bool m_instance_owned = false;
  std::vector<std::string> m_added_tags;
  std::unique_ptr<google::TokenProvider> m_tokens;
  std::unique_ptr<ComputeCaller> m_caller;
};

} // namespace

std::vector<DriverFlag> google_driver_flags() {
  return {
      {"google-project", "GCE Project", "", "GOOGLE_PROJECT", FlagType::string},
      {"google-zone", "GCE Zone", k_default_zone, "GOOGLE_ZONE", FlagType::string},
      {"google-machine-type", "GCE Machine Type", k_default_machine_type, "GOOGLE_MACHINE_TYPE",
       FlagType::string},
      {"google-machine-image",
       "GCE Machine Image (URL or path; default: the newest of debian-cloud's debian-12 family)",
       "", "GOOGLE_MACHINE_IMAGE", FlagType::string},
      {"google-username", "GCE User Name", k_default_user, "GOOGLE_USERNAME", FlagType::string},
      {"google-service-account", "GCE Service Account for the VM (email address)",
       k_default_service_account, "GOOGLE_SERVICE_ACCOUNT", FlagType::string},
      {"google-scopes", "GCE Scopes (comma-separated if multiple scopes)", k_default_scopes,
       "GOOGLE_SCOPES", FlagType::string},
      {"google-disk-size", "GCE Instance Disk Size (in GB)", "10", "GOOGLE_DISK_SIZE",
       FlagType::integer},
      {"google-disk-type", "GCE Instance Disk type", "pd-standard", "GOOGLE_DISK_TYPE",
       FlagType::string},
      {"google-network", "Specify network in which to provision vm", "default", "GOOGLE_NETWORK",
       FlagType::string},
      {"google-subnetwork", "Specify subnetwork in which to provision vm", "", "GOOGLE_SUBNETWORK",
       FlagType::string},
      {"google-address", "GCE Instance External IP", "", "GOOGLE_ADDRESS", FlagType::string},
      {"google-preemptible", "GCE Instance Preemptibility", "", "GOOGLE_PREEMPTIBLE",
       FlagType::boolean},
      {"google-tags", "GCE Instance Tags (comma-separated)", "", "GOOGLE_TAGS", FlagType::string},
      {"google-use-internal-ip", "Use internal GCE Instance IP rather than public one", "",
       "GOOGLE_USE_INTERNAL_IP", FlagType::boolean},
      {"google-use-internal-ip-only", "Configure GCE instance to not have an external IP address",
       "", "GOOGLE_USE_INTERNAL_IP_ONLY", FlagType::boolean},
      {"google-use-existing", "Don't create a new VM, use an existing one", "",
       "GOOGLE_USE_EXISTING", FlagType::boolean},
      {"google-open-port",
       "Make the specified port number accessible from the Internet, e.g, 8080/tcp", "", "",
       FlagType::string_list},
      {"google-credentials",
       "Service-account key file (else $GOOGLE_APPLICATION_CREDENTIALS, else gcloud's "
       "application-default credentials)",
       "", "", FlagType::string},
      {"google-endpoint", "Compute Engine API base URL (an emulator)", "",
       "GOOGLE_COMPUTE_ENDPOINT", FlagType::string},
  };
}

std::unique_ptr<Driver> make_google_driver(const DriverContext& context, const json& config) {
  return std::make_unique<GoogleDriver>(context, config);
}

} // namespace dm
