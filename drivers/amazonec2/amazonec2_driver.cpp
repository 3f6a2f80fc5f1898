#include "drivers/amazonec2/amazonec2_driver.h"

#include "core/cluster_record.h"
#include "core/digest.h"
#include "core/interrupt.h"
#include "core/machine_record.h"
#include "core/machine_store.h"
#include "core/process_runner.h"
#include "core/ssh_key_check.h"
#include "drivers/amazonec2/credentials.h"
#include "drivers/amazonec2/ec2_api.h"
#include "drivers/amazonec2/ec2_machine_spec.h"
#include "drivers/amazonec2/ec2_requests.h"
#include "drivers/amazonec2/ec2_settings.h"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <optional>
#include <set>
#include <thread>

namespace dm {

namespace {

using namespace aws;

constexpr int k_wait_running_seconds = 300;
constexpr int k_wait_stopped_seconds = 300;
constexpr int k_wait_terminated_seconds = 300;
constexpr int k_ssh_wait_seconds = 300;
constexpr size_t k_user_data_limit = 16 * 1024;
constexpr size_t k_ids_per_describe = 200; // EC2's limit of values in one filter
constexpr const char* k_tag_machine = "dmachine-machine";
constexpr const char* k_tag_id = "dmachine-id";
constexpr const char* k_tag_store = "dmachine-store";

std::string env_text(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// "RunInstances: InstanceLimitExceeded: ..." carries EC2's code after the action.
bool has_code(const Error& error, std::string_view code) {
  return error.message.find(fmt::format(": {}: ", code)) != std::string::npos;
}

void sleep_interruptibly(std::chrono::milliseconds wait) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (!interrupted() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void append(Pairs& params, const Pairs& more) {
  params.insert(params.end(), more.begin(), more.end());
}

// The address dmachine uses: the public one unless the settings ask for the private one.
std::string chosen_ip(const Ec2Instance& instance, bool use_private) {
  return use_private ? instance.private_ip_address : instance.ip_address;
}

class Amazonec2Driver final : public Driver {
public:
  Amazonec2Driver(DriverContext context, const nlohmann::json& config)
      : m_context(std::move(context)), m_s(settings_from_json(config)) {}

  [[nodiscard]] nlohmann::json config() const override {
    return settings_to_json(m_s, m_context.machine_name, m_context.store_path.string(),
                            key_path().string());
  }

  Result<void> set_options(const DriverOptions& options) override {
    auto settings = settings_from_options(options);
    DM_TRY(settings);
    m_s = std::move(*settings);
    // In memory for this create only; the record keeps where credentials came from.
    m_flag_access_key = options.get("amazonec2-access-key");
    m_flag_secret_key = options.get("amazonec2-secret-key");
    m_flag_session_token = options.get("amazonec2-session-token");
    return {};
  }

  Result<void> pre_create_check() override {
    m_s.id = new_cluster_id();
    m_s.store_id = hex_lower(sha256(m_context.store_path.string())).substr(0, 12);
    if (!m_s.existing_key) {
      m_s.key_name = fmt::format("dmachine-{}-{}", m_context.machine_name, m_s.id.substr(0, 8));
    } else {
      auto key = check_private_key_file(m_s.ssh_private_key_path);
      if (!key) {
        return fail(ErrorKind::precreate, key.error().message + " (--amazonec2-ssh-keypath)");
      }
    }
    if (!m_s.user_data_file.empty()) {
      auto text = read_file(m_s.user_data_file);
      if (!text) {
        return fail(ErrorKind::usage,
                    "unable to read --amazonec2-userdata file: " + text.error().message);
      }
      if (text->size() > k_user_data_limit) {
        return fail(ErrorKind::usage, "--amazonec2-userdata: EC2 takes at most 16 KiB");
      }
      m_user_data = base64(*text);
    }
    DM_TRY(caller());
    DM_TRY(resolve_network());
    DM_TRY(resolve_image());
    if (m_s.existing_key) {
      auto described = call("DescribeKeyPairs", {{"KeyName.1", m_s.key_name}});
      DM_TRY_CTX(described, "--amazonec2-keypair-name");
    }
    return {};
  }

  Result<void> create() override {
    DM_TRY(make_key_pair());
    DM_TRY(make_security_groups());
    DM_TRY(run_instance());
    return wait_for_state({"running"}, k_wait_running_seconds, "running");
  }

  Result<void> start() override {
    DM_TRY(require_instance());
    DM_TRY(call("StartInstances", instance_ids_params({m_s.instance_id})));
    return wait_for_state({"running"}, k_wait_running_seconds, "running");
  }

  Result<void> stop() override {
    DM_TRY(require_instance());
    DM_TRY(call("StopInstances", stop_instances_params({m_s.instance_id}, ForceStop::no)));
    return wait_for_state({"stopped"}, k_wait_stopped_seconds, "stopped");
  }

  Result<void> restart() override {
    DM_TRY(require_instance());
    DM_TRY(call("RebootInstances", instance_ids_params({m_s.instance_id})));
    return wait_for_state({"running"}, k_wait_running_seconds, "running");
  }

  Result<void> kill() override {
    DM_TRY(require_instance());
    DM_TRY(call("StopInstances", stop_instances_params({m_s.instance_id}, ForceStop::yes)));
    return wait_for_state({"stopped"}, k_wait_stopped_seconds, "stopped");
  }

  Result<void> remove() override {
    std::vector<std::string> problems;
    auto note = [&problems](const Result<void>& step) {
      if (!step) {
        problems.push_back(step.error().message);
      }
    };
    auto terminated = terminate_instances();
    note(terminated);
    if (terminated) { // a group in use by our own instance cannot be deleted yet
      note(delete_groups());
    }
    note(delete_key_pair());
    if (!problems.empty()) {
      std::string joined;
      for (const auto& problem : problems) {
        joined += (joined.empty() ? "" : "; ") + problem;
      }
      return fail(joined);
    }
    return {};
  }

  Result<MachineState> state() override {
    if (!m_learned) {
      learn_own_state();
    }
    return m_learned_state;
  }

  Result<std::string> ip() override {
    if (!m_learned) {
      learn_own_state();
    }
    if (!m_learned_ip.empty()) {
      return m_learned_ip;
    }
    if (!m_learned_state) {
      return fail(m_learned_state.error());
    }
    return fail("the instance has no IP address now (it is not running)");
  }

  Result<SshTarget> ssh_target() override {
    if (m_s.ip_address.empty()) {
      return fail("the instance's IP address is not known yet");
    }
    SshTarget target;
    target.host = m_s.ip_address;
    target.port = m_s.ssh_port;
    target.user = m_s.ssh_user.empty() ? "ubuntu" : m_s.ssh_user;
    target.key_path = key_path().string();
    target.known_hosts_path = m_context.machine_dir / "known_hosts";
    return target;
  }

  [[nodiscard]] StateCheck state_check() const override { return StateCheck::local; }
  [[nodiscard]] int ssh_wait_seconds() const override { return k_ssh_wait_seconds; }

  [[nodiscard]] std::string state_batch_key() const override {
    if (m_s.instance_id.empty()) {
      return "";
    }
    return fmt::format("amazonec2|{}|{}|{}|{}", m_s.endpoint, m_s.insecure_transport, m_s.region,
                       m_s.credential_source);
  }

  void learn_states(const std::vector<Driver*>& members) override {
    std::vector<std::string> ids;
    for (Driver* member : members) {
      auto config = member->config();
      const std::string id = config.value("InstanceId", "");
      if (valid_ec2_id(id, "i")) {
        ids.push_back(id);
      }
    }
    std::map<std::string, Ec2Instance> found;
    std::optional<Error> failure;
    for (size_t start = 0; start < ids.size() && !failure; start += k_ids_per_describe) {
      std::vector<std::string> chunk(
          ids.begin() + static_cast<long>(start),
          ids.begin() + static_cast<long>(std::min(ids.size(), start + k_ids_per_describe)));
      auto answer = describe_instances({}, {{"instance-id", chunk}});
      if (!answer) {
        failure = answer.error();
        break;
      }
      for (auto& instance : *answer) {
        found[instance.instance_id] = instance;
      }
    }
    for (Driver* member : members) {
      auto config = member->config();
      const std::string id = config.value("InstanceId", "");
      const bool use_private =
          config.value("UsePrivateIP", false) || config.value("PrivateIPOnly", false);
      if (failure) {
        member->remember_state(fail(*failure), "");
      } else if (auto it = found.find(id); it != found.end()) {
        member->remember_state(machine_state_of(it->second.state_name),
                               chosen_ip(it->second, use_private));
      } else {
        member->remember_state(fail(gone_message(id)), "");
      }
    }
  }

  void remember_state(const Result<MachineState>& state, const std::string& ip) override {
    m_learned = true;
    m_learned_state = state;
    m_learned_ip = ip;
    if (!ip.empty()) {
      m_s.ip_address = ip;
    }
  }

private:
  [[nodiscard]] std::filesystem::path key_path() const { return m_context.machine_dir / "id_rsa"; }

  static std::string gone_message(const std::string& id) {
    return fmt::format("instance {} does not exist (terminated, or removed outside dmachine); "
                       "'dmachine rm' removes what is left",
                       id.empty() ? "(none recorded)" : id);
  }

  // Credentials and endpoint, resolved at the first call: flags (create only), the
  // environment, then the profile the machine was made with.
  Result<Ec2Caller*> caller() {
    if (m_caller) {
      return &*m_caller;
    }
    if (m_context.http_client == nullptr) {
      return fail("amazonec2: no HTTP client");
    }
    const std::string source = m_s.credential_source;
    CredentialInputs inputs;
    inputs.access_key = m_flag_access_key;
    inputs.secret_key = m_flag_secret_key;
    inputs.session_token = m_flag_session_token;
    inputs.env = [source](const char* name) {
      std::string value = env_text(name);
      if (value.empty() && std::string_view(name) == "AWS_PROFILE" &&
          source.rfind("profile ", 0) == 0) {
        value = source.substr(8);
      }
      return value;
    };
    inputs.home = env_text("HOME");
    auto resolved = resolve_aws_credentials(inputs);
    if (!resolved) {
      if (source == "flags") {
        return fail(ErrorKind::usage,
                    fmt::format("machine \"{}\" was created with --amazonec2-access-key and "
                                "--amazonec2-secret-key, which dmachine never stores: set "
                                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
                                "AWS_SESSION_TOKEN for temporary credentials), or AWS_PROFILE",
                                m_context.machine_name));
      }
      return fail(resolved.error());
    }
    if (m_s.credential_source.empty()) {
      m_s.credential_source = resolved->source;
    }
    auto endpoint =
        ec2_endpoint(m_s.region, m_s.endpoint,
                     m_s.insecure_transport ? InsecureTransport::yes : InsecureTransport::no);
    DM_TRY(endpoint);
    RetryPolicy policy;
    policy.attempts = m_s.retries < 0 ? 1 : m_s.retries + 1;
    m_caller.emplace(ec2_caller(*m_context.http_client, *endpoint, resolved->credentials, policy));
    return &*m_caller;
  }

  Result<std::string> call(const std::string& action, const Pairs& params) {
    auto ec2 = caller();
    DM_TRY(ec2);
    return ec2_call(**ec2, action, params);
  }

  [[nodiscard]] std::vector<Ec2Tag> tags() const {
    std::vector<Ec2Tag> all = {{"Name", m_context.machine_name},
                               {k_tag_machine, m_context.machine_name},
                               {k_tag_id, m_s.id},
                               {k_tag_store, m_s.store_id}};
    auto user = parse_tags_flag(m_s.tags);
    if (user) {
      all.insert(all.end(), user->begin(), user->end());
    }
    return all;
  }

  Result<std::vector<Ec2Instance>> describe_instances(const std::vector<std::string>& ids,
                                                      const std::vector<Ec2Filter>& filters) {
    auto body = call("DescribeInstances", describe_instances_params(ids, filters));
    DM_TRY(body);
    auto parsed = parse_instances(*body);
    DM_TRY_CTX(parsed, "DescribeInstances");
    return parsed->instances;
  }

  void learn_own_state() {
    if (m_s.instance_id.empty()) {
      remember_state(fail(gone_message("")), "");
      return;
    }
    auto found = describe_instances({}, {{"instance-id", {m_s.instance_id}}});
    if (!found) {
      remember_state(fail(found.error()), "");
    } else if (found->empty()) {
      remember_state(fail(gone_message(m_s.instance_id)), "");
    } else {
      apply(found->front());
    }
  }

  void apply(const Ec2Instance& instance) {
    m_s.private_ip_address = instance.private_ip_address;
    remember_state(machine_state_of(instance.state_name),
                   chosen_ip(instance, m_s.use_private_address || m_s.private_address_only));
  }

  Result<void> require_instance() {
    if (m_s.instance_id.empty()) {
      return fail(gone_message(""));
    }
    return {};
  }

  // Polls (bounded) until the instance is in one of wanted; its IP is taken from the answer.
  Result<void> wait_for_state(const std::set<std::string>& wanted, int seconds,
                              const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    std::string last = "unknown";
    auto wait = std::chrono::milliseconds(500);
    while (true) {
      if (interrupted()) {
        return fail(ErrorKind::interrupted, "interrupted while waiting for the instance");
      }
      auto found = describe_instances({}, {{"instance-id", {m_s.instance_id}}});
      DM_TRY(found);
      if (!found->empty()) {
        const Ec2Instance& instance = found->front();
        last = instance.state_name;
        apply(instance);
        if (wanted.count(last) != 0) {
          return {};
        }
        if (last == "terminated" && wanted.count("terminated") == 0) {
          return fail(fmt::format("instance {} ended (terminated) before it was {}",
                                  m_s.instance_id, what));
        }
      }
      if (std::chrono::steady_clock::now() + wait > deadline) {
        return fail(ErrorKind::timeout, fmt::format("instance {} was not {} after {} s (it is {})",
                                                    m_s.instance_id, what, seconds, last));
      }
      sleep_interruptibly(wait);
      wait = std::min(wait * 2, std::chrono::milliseconds(3000));
    }
  }

  Result<void> resolve_network() {
    if (!m_s.subnet_id.empty()) {
      auto body = call("DescribeSubnets", {{"SubnetId.1", m_s.subnet_id}});
      DM_TRY_CTX(body, "--amazonec2-subnet-id");
      auto subnets = parse_subnets(*body);
      DM_TRY(subnets);
      if (subnets->empty()) {
        return fail(ErrorKind::usage, "The desired subnet could not be located in this region. "
                                      "Is '--amazonec2-subnet-id' or AWS_SUBNET_ID configured "
                                      "correctly?");
      }
      m_s.vpc_id = subnets->front().vpc_id;
      return {};
    }
    if (m_s.vpc_id.empty()) {
      auto body = call("DescribeVpcs", filter_params({{"is-default", {"true"}}}));
      DM_TRY(body);
      auto vpcs = parse_vpcs(*body);
      DM_TRY(vpcs);
      if (vpcs->empty()) {
        return fail(ErrorKind::usage, "amazonec2 driver requires either the "
                                      "--amazonec2-subnet-id or --amazonec2-vpc-id option or an "
                                      "AWS Account with a default vpc-id");
      }
      m_s.vpc_id = vpcs->front().vpc_id;
    }
    const std::string zone = m_s.region + m_s.zone;
    auto body = call("DescribeSubnets",
                     filter_params({{"availability-zone", {zone}}, {"vpc-id", {m_s.vpc_id}}}));
    DM_TRY(body);
    auto subnets = parse_subnets(*body);
    DM_TRY(subnets);
    if (subnets->empty()) {
      return fail(ErrorKind::usage,
                  fmt::format("no subnet of {} in zone {}: give --amazonec2-subnet-id or another "
                              "--amazonec2-zone",
                              m_s.vpc_id, zone));
    }
    m_s.subnet_id = subnets->front().subnet_id;
    for (const auto& subnet : *subnets) {
      if (subnet.default_for_az) {
        m_s.subnet_id = subnet.subnet_id;
      }
    }
    return {};
  }

  Result<void> resolve_image() {
    Pairs params;
    std::string looked_for;
    ImageQuery query = default_image_query(m_s.instance_type);
    if (m_s.ami.empty()) {
      params = filter_params({{"name", {query.name_pattern}},
                              {"architecture", {query.architecture}},
                              {"state", {"available"}}});
      params.emplace_back("Owner.1", query.owner);
      looked_for = fmt::format("{} images of owner {}", query.name_pattern, query.owner);
    } else {
      params = {{"ImageId.1", m_s.ami}};
      looked_for = m_s.ami;
    }
    auto body = call("DescribeImages", params);
    DM_TRY(body);
    auto images = parse_images(*body);
    DM_TRY(images);
    auto image = newest_available_image(*images, looked_for);
    DM_TRY(image);
    m_s.ami = image->image_id;
    if (m_s.ssh_user.empty()) {
      // The image's default user: Debian's "admin", Ubuntu's "ubuntu", Amazon Linux's "ec2-user".
      const std::string& name = image->name;
      m_s.ssh_user = name.rfind("debian", 0) == 0                               ? "admin"
                     : name.rfind("al20", 0) == 0 || name.rfind("amzn", 0) == 0 ? "ec2-user"
                                                                                : "ubuntu";
    }
    return {};
  }

  Result<void> make_key_pair() {
    namespace fs = std::filesystem;
    const fs::path key = key_path();
    const fs::path pub = fs::path(key.string() + ".pub");
    std::error_code ignored;
    if (m_s.existing_key) {
      fs::copy_file(m_s.ssh_private_key_path, key, fs::copy_options::overwrite_existing, ignored);
      if (ignored) {
        return fail(fmt::format("copy --amazonec2-ssh-keypath {}: {}",
                                quoted_for_display(m_s.ssh_private_key_path), ignored.message()));
      }
      fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write, ignored);
      fs::remove(pub, ignored);
      return {};
    }
    // EC2 imports RSA and ED25519 keys only (not the ECDSA key dmachine makes elsewhere), and
    // libssh2 signs RSA with SHA-1 only, which OpenSSH refuses: an ED25519 key.
    fs::remove(key, ignored);
    fs::remove(pub, ignored);
    if (m_context.process_runner == nullptr) {
      return fail("amazonec2: no process runner");
    }
    auto made =
        m_context.process_runner->run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                       "dmachine-" + m_context.machine_name, "-f", key.string()},
                                      ProcessOptions{"", {}, 30, false});
    DM_TRY_CTX(made, "make the machine's ED25519 key (ssh-keygen)");
    if (made->exit_status != 0) {
      return fail("ssh-keygen -t ed25519: " + made->err);
    }
    auto line = read_file(pub);
    DM_TRY(line);
    Pairs params = import_key_pair_params(m_s.key_name, *line);
    append(params, tag_specification_params(1, "key-pair", tags()));
    return call("ImportKeyPair", params).map([](const std::string&) {});
  }

  Result<void> make_security_groups() {
    m_s.group_ids.clear();
    for (const auto& name : m_s.group_names) {
      auto groups = find_security_group(name);
      DM_TRY(groups);
      std::string group_id;
      std::vector<Ec2Permission> existing;
      if (!groups->empty()) {
        group_id = groups->front().group_id;
        existing = groups->front().ingress;
      } else {
        Pairs params = create_security_group_params(
            name, "Docker machines made by dmachine (SSH, engine; swarm between members)",
            m_s.vpc_id);
        std::vector<Ec2Tag> group_tags = {{k_tag_store, m_s.store_id}};
        append(params, tag_specification_params(1, "security-group", group_tags));
        auto made = call("CreateSecurityGroup", params);
        if (!made && has_code(made.error(), "InvalidGroup.Duplicate")) {
          // Another create (a cluster's machines are made in parallel) made it meanwhile.
          groups = find_security_group(name);
          DM_TRY(groups);
          if (groups->empty()) {
            return fail(made.error());
          }
          group_id = groups->front().group_id;
          existing = groups->front().ingress;
        } else {
          DM_TRY(made);
          auto id = parse_group_id(*made);
          DM_TRY(id);
          group_id = *id;
        }
      }
      m_s.group_ids.push_back(group_id);
      if (!m_s.group_readonly) {
        DM_TRY(authorize_rules(group_id, existing));
      }
    }
    return {};
  }

  // The groups of that name in the machine's VPC (none or one).
  Result<std::vector<Ec2SecurityGroup>> find_security_group(const std::string& name) {
    auto body = call(
        "DescribeSecurityGroups",
        describe_security_groups_params({}, {{"group-name", {name}}, {"vpc-id", {m_s.vpc_id}}}));
    DM_TRY(body);
    return parse_security_groups(*body);
  }

  // Adds the rules the group lacks (by protocol and port); a rule that exists in another
  // form is a duplicate EC2 refuses, which is fine.
  Result<void> authorize_rules(const std::string& group_id,
                               const std::vector<Ec2Permission>& existing) {
    std::vector<OpenPort> open_ports;
    for (const auto& text : m_s.open_ports) {
      auto port = parse_open_port(text);
      DM_TRY(port);
      open_ports.push_back(*port);
    }
    std::vector<IpPermission> missing;
    for (auto& rule : machine_group_rules(group_id, m_s.ssh_port, 2376, open_ports)) {
      bool present = false;
      for (const auto& have : existing) {
        present = present || (have.ip_protocol == rule.protocol && have.from_port &&
                              *have.from_port == rule.from_port);
      }
      if (!present) {
        missing.push_back(std::move(rule));
      }
    }
    if (missing.empty()) {
      return {};
    }
    auto added = call("AuthorizeSecurityGroupIngress", authorize_ingress_params(group_id, missing));
    if (added || !has_code(added.error(), "InvalidPermission.Duplicate")) {
      return added.map([](const std::string&) {});
    }
    for (const auto& rule : missing) {
      auto one = call("AuthorizeSecurityGroupIngress", authorize_ingress_params(group_id, {rule}));
      if (!one && !has_code(one.error(), "InvalidPermission.Duplicate")) {
        return fail(one.error());
      }
    }
    return {};
  }

  Result<void> run_instance() {
    RunInstancesSpec spec;
    spec.image_id = m_s.ami;
    spec.instance_type = m_s.instance_type;
    spec.key_name = m_s.key_name;
    spec.user_data_base64 = m_user_data;
    spec.tags = tags();
    spec.client_token = m_s.id; // a retried RunInstances starts one instance only
    spec.root_disk = RootDisk{m_s.device_name, m_s.root_size, m_s.volume_type};
    spec.iam_instance_profile = m_s.iam_instance_profile;
    spec.monitoring = m_s.monitoring;
    spec.ebs_optimized = m_s.ebs_optimized;
    if (!m_s.private_address_only) {
      spec.subnet_id = m_s.subnet_id;
      spec.security_group_ids = m_s.group_ids;
    }
    Pairs params = run_instances_params(spec);
    params.emplace_back("Placement.AvailabilityZone", m_s.region + m_s.zone);
    if (m_s.private_address_only) {
      params.emplace_back("NetworkInterface.1.DeviceIndex", "0");
      params.emplace_back("NetworkInterface.1.SubnetId", m_s.subnet_id);
      params.emplace_back("NetworkInterface.1.AssociatePublicIpAddress", "false");
      params.emplace_back("NetworkInterface.1.DeleteOnTermination", "true");
      for (size_t i = 0; i < m_s.group_ids.size(); ++i) {
        params.emplace_back(fmt::format("NetworkInterface.1.SecurityGroupId.{}", i + 1),
                            m_s.group_ids[i]);
      }
    }
    if (m_s.spot) {
      params.emplace_back("InstanceMarketOptions.MarketType", "spot");
      params.emplace_back("InstanceMarketOptions.SpotOptions.MaxPrice", m_s.spot_price);
      if (m_s.block_duration_minutes > 0) {
        params.emplace_back("InstanceMarketOptions.SpotOptions.BlockDurationMinutes",
                            std::to_string(m_s.block_duration_minutes));
      }
    }
    auto body = call("RunInstances", params);
    DM_TRY(body);
    auto reservation = parse_instances(*body);
    DM_TRY_CTX(reservation, "RunInstances");
    if (reservation->instances.empty()) {
      return fail("RunInstances: the answer names no instance");
    }
    m_s.instance_id = reservation->instances.front().instance_id;
    m_s.reservation_id = reservation->reservation_id;
    return {};
  }

  // The machine's instances: the recorded one, or (after a create killed before it
  // recorded the id) those tagged with the machine's id.
  Result<void> terminate_instances() {
    std::vector<std::string> ids;
    if (!m_s.instance_id.empty()) {
      ids.push_back(m_s.instance_id);
    } else if (!m_s.id.empty()) {
      auto tagged = describe_instances({}, {{std::string("tag:") + k_tag_id, {m_s.id}}});
      DM_TRY(tagged);
      for (const auto& instance : *tagged) {
        if (instance.state_name != "terminated") {
          ids.push_back(instance.instance_id);
        }
      }
    }
    if (ids.empty()) {
      return {};
    }
    auto ended = call("TerminateInstances", instance_ids_params(ids));
    if (!ended && has_code(ended.error(), "InvalidInstanceID.NotFound")) {
      return {};
    }
    DM_TRY(ended);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(k_wait_terminated_seconds);
    auto wait = std::chrono::milliseconds(500);
    while (true) {
      auto found = describe_instances({}, {{"instance-id", ids}});
      DM_TRY(found);
      bool all_ended = true;
      for (const auto& instance : *found) {
        all_ended = all_ended && instance.state_name == "terminated";
      }
      if (all_ended) {
        return {};
      }
      if (std::chrono::steady_clock::now() + wait > deadline) {
        return fail(ErrorKind::timeout,
                    fmt::format("instance {} was not terminated after {} s; its security group "
                                "was left (run 'dmachine rm' again)",
                                ids.front(), k_wait_terminated_seconds));
      }
      std::this_thread::sleep_for(wait); // also after Ctrl-C: the cleanup must finish
      wait = std::min(wait * 2, std::chrono::milliseconds(3000));
    }
  }

  // Groups this store made, once no instance uses them (a group shared by several machines
  // of the store goes with the last of them). Groups made by others are never deleted.
  Result<void> delete_groups() {
    std::vector<std::string> candidates = m_s.group_ids;
    if (candidates.empty() && !m_s.vpc_id.empty() && !m_s.group_names.empty()) {
      auto body = call("DescribeSecurityGroups",
                       describe_security_groups_params(
                           {}, {{"group-name", m_s.group_names}, {"vpc-id", {m_s.vpc_id}}}));
      DM_TRY(body);
      auto groups = parse_security_groups(*body);
      DM_TRY(groups);
      for (const auto& group : *groups) {
        candidates.push_back(group.group_id);
      }
    }
    if (candidates.empty() || m_s.store_id.empty()) {
      return {};
    }
    auto body = call(
        "DescribeSecurityGroups",
        describe_security_groups_params(
            {}, {{"group-id", candidates}, {std::string("tag:") + k_tag_store, {m_s.store_id}}}));
    DM_TRY(body);
    auto ours = parse_security_groups(*body);
    DM_TRY(ours);
    for (const auto& group : *ours) {
      auto users = describe_instances(
          {}, {{"instance.group-id", {group.group_id}},
               {"instance-state-name",
                {"pending", "running", "shutting-down", "stopping", "stopped"}}});
      DM_TRY(users);
      if (!users->empty()) {
        continue; // another machine still uses it
      }
      auto deleted = call("DeleteSecurityGroup", {{"GroupId", group.group_id}});
      if (!deleted && !has_code(deleted.error(), "InvalidGroup.NotFound")) {
        return fail(deleted.error());
      }
    }
    return {};
  }

  Result<void> delete_key_pair() {
    if (m_s.existing_key || m_s.key_name.empty()) {
      return {};
    }
    return call("DeleteKeyPair", {{"KeyName", m_s.key_name}}).map([](const std::string&) {});
  }

  DriverContext m_context;
  Ec2Settings m_s;
  std::string m_flag_access_key;
  std::string m_flag_secret_key;
  std::string m_flag_session_token;
  std::string m_user_data;
  std::optional<Ec2Caller> m_caller;
  bool m_learned = false;
  Result<MachineState> m_learned_state = MachineState::none;
  std::string m_learned_ip;
};

} // namespace

std::vector<DriverFlag> amazonec2_driver_flags() {
  using F = FlagType;
  return {
      {"amazonec2-access-key", "AWS Access Key (else AWS_ACCESS_KEY_ID, else ~/.aws); never stored",
       "", "", F::string},
      {"amazonec2-secret-key",
       "AWS Secret Key (else AWS_SECRET_ACCESS_KEY, else ~/.aws); never stored", "", "", F::string},
      {"amazonec2-session-token", "AWS Session Token (else AWS_SESSION_TOKEN); never stored", "",
       "", F::string},
      {"amazonec2-ami",
       "AWS machine image (default: the newest Debian 12 image of Debian's account)", "", "AWS_AMI",
       F::string},
      {"amazonec2-region", "AWS region", "us-east-1", "AWS_DEFAULT_REGION", F::string},
      {"amazonec2-vpc-id", "AWS VPC id (default: the account's default VPC)", "", "AWS_VPC_ID",
       F::string},
      {"amazonec2-zone", "AWS zone for instance (i.e. a,b,c,d,e)", "a", "AWS_ZONE", F::string},
      {"amazonec2-subnet-id", "AWS VPC subnet id", "", "AWS_SUBNET_ID", F::string},
      {"amazonec2-security-group-readonly", "Skip adding default rules to security groups", "",
       "AWS_SECURITY_GROUP_READONLY", F::boolean},
      {"amazonec2-security-group", "AWS VPC security group", "docker-machine", "AWS_SECURITY_GROUP",
       F::string_list},
      {"amazonec2-open-port", "Make the specified port number accessible from the Internet", "", "",
       F::string_list},
      {"amazonec2-tags", "AWS Tags (e.g. key1,value1,key2,value2)", "", "AWS_TAGS", F::string},
      {"amazonec2-instance-type", "AWS instance type", "t3.micro", "AWS_INSTANCE_TYPE", F::string},
      {"amazonec2-device-name", "AWS root device name", "/dev/sda1", "AWS_DEVICE_NAME", F::string},
      {"amazonec2-root-size", "AWS root disk size (in GB)", "16", "AWS_ROOT_SIZE", F::integer},
      {"amazonec2-volume-type", "Amazon EBS volume type", "gp2", "AWS_VOLUME_TYPE", F::string},
      {"amazonec2-iam-instance-profile", "AWS IAM Instance Profile", "", "AWS_INSTANCE_PROFILE",
       F::string},
      {"amazonec2-ssh-port", "SSH port", "22", "AWS_SSH_PORT", F::integer},
      {"amazonec2-ssh-user", "SSH username (default: the image's user, admin for Debian)", "",
       "AWS_SSH_USER", F::string},
      {"amazonec2-request-spot-instance", "Set this flag to request spot instance", "", "",
       F::boolean},
      {"amazonec2-spot-price", "AWS spot instance bid price (in dollar)", "0.50", "", F::string},
      {"amazonec2-block-duration-minutes",
       "AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360)", "0", "",
       F::integer},
      {"amazonec2-private-address-only", "Only use a private IP address", "", "", F::boolean},
      {"amazonec2-use-private-address", "Force the usage of private IP address", "", "",
       F::boolean},
      {"amazonec2-monitoring", "Set this flag to enable CloudWatch monitoring", "", "", F::boolean},
      {"amazonec2-use-ebs-optimized-instance", "Create an EBS optimized instance", "", "",
       F::boolean},
      {"amazonec2-ssh-keypath", "SSH Key for Instance", "", "AWS_SSH_KEYPATH", F::string},
      {"amazonec2-keypair-name", "AWS keypair to use; requires --amazonec2-ssh-keypath", "",
       "AWS_KEYPAIR_NAME", F::string},
      {"amazonec2-retries", "Set retry count for recoverable failures (use -1 to disable)", "5", "",
       F::integer},
      {"amazonec2-endpoint", "Optional endpoint URL (https://host[:port])", "", "AWS_ENDPOINT",
       F::string},
      {"amazonec2-insecure-transport",
       "Disable SSL when sending requests (needs --amazonec2-endpoint)", "",
       "AWS_INSECURE_TRANSPORT", F::boolean},
      {"amazonec2-userdata", "path to file with cloud-init user data", "", "AWS_USERDATA",
       F::string},
  };
}

std::unique_ptr<Driver> make_amazonec2_driver(const DriverContext& context,
                                              const nlohmann::json& config) {
  return std::make_unique<Amazonec2Driver>(context, config);
}

} // namespace dm
