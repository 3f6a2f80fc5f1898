#include "core/provisioner.h"

#include "tests/fakes/fake_remote_shell.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

using dm::ExecResult;
using dm::testing::FakeRemoteShell;

namespace {

std::string os_release(const std::string& name) {
  std::ifstream in(std::string(DM_FIXTURES_DIR) + "/os-release/" + name);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const std::string k_key = "-----BEGIN EC PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END EC PRIVATE KEY-----\n";

dm::ProvisionRequest request() {
  dm::ProvisionRequest r;
  r.machine_name = "web1";
  r.driver_name = "generic";
  r.ca_pem = "CA PEM\n";
  r.server_cert_pem = "SERVER PEM\n";
  r.server_key_pem = k_key;
  return r;
}

const std::string k_probe = "command -v dockerd";
// Debian's docker.io: docker.service Requires=docker.socket, which is loaded.
const std::string k_installed =
    "dockerd=/usr/sbin/dockerd\nsocket=loaded\nrequires=docker.socket sysinit.target system.slice\n";
const std::string k_missing = "dockerd=\nsocket=not-found\nrequires=\n";
const std::string k_restart_prefix = "exec: rm -f /etc/systemd/system/docker.service.d/10-dmachine.conf "
                                     "&& rm -rf /etc/docker/dmachine || exit 1; systemctl daemon-reload";

void as_root(FakeRemoteShell& shell, const std::string& os = "debian-12") {
  shell.on("id -u", ExecResult{0, "0\nroot\n" + os_release(os), ""});
}

void as_user(FakeRemoteShell& shell, const std::string& os = "debian-12") {
  shell.on("id -u", ExecResult{0, "1000\nadmin\n" + os_release(os), ""});
}

struct Run {
  std::ostringstream out;
  dm::Progress progress{out, dm::ProgressStyle::plain};
};

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

} // namespace

TEST_CASE("provision: Debian as root with an installed engine keeps it", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_installed, ""});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE(report);
  CHECK(report->engine_state == "kept");
  CHECK(report->os_pretty_name == "Debian GNU/Linux 12 (bookworm)");
  CHECK(shell.count("apt-get") == 0);
  CHECK(shell.count("sudo") == 0);

  const auto& events = shell.events();
  REQUIRE(events.size() == 8);
  CHECK(events[0] == "exec: id -u && id -un && cat /etc/os-release");
  // The engine is checked before the host changes at all.
  CHECK(events[1] == "exec: " + dm::engine_probe_command());
  CHECK(starts_with(events[2], "exec: { hostname web1 2>/dev/null || hostnamectl set-hostname web1; } && echo web1 > /etc/hostname"));
  CHECK(events[2].find("127.0.1.1 web1") != std::string::npos);
  CHECK(events[2].find("mkdir -p -m 0755 /etc/docker /etc/systemd/system/docker.service.d") != std::string::npos);
  // docker-machine's paths: its drop-in and certificates are overwritten, the
  // ones of dmachine before issue 9 removed.
  CHECK(events[3] == "upload: /etc/docker/ca.pem 0644");
  CHECK(events[4] == "upload: /etc/docker/server.pem 0644");
  CHECK(events[5] == "upload: /etc/docker/server-key.pem 0600");
  CHECK(events[6] == "upload: /etc/systemd/system/docker.service.d/10-machine.conf 0644");
  CHECK(starts_with(events[7], k_restart_prefix));
  CHECK(events[7].find("systemctl restart docker.service") != std::string::npos);
  CHECK(events[7].find("journalctl -u docker.service -n 20 --no-pager") != std::string::npos);

  CHECK(shell.uploads()[2].data == k_key);
  const std::string& dropin = shell.uploads()[3].data;
  CHECK(starts_with(dropin, "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --tlsverify"));
  CHECK(dropin.find("--label provider=generic") != std::string::npos);
  for (int timeout : shell.timeouts()) {
    CHECK(timeout > 0);
  }
  for (const auto& command : shell.commands()) {
    CHECK(command.find("SECRETKEYMATERIAL") == std::string::npos);
  }
  CHECK(run.out.str().find("Restarting docker.service") != std::string::npos);
}

TEST_CASE("provision: re-running is idempotent", "[provisioner]") {
  FakeRemoteShell first;
  as_root(first);
  first.on(k_probe, ExecResult{0, k_installed, ""});
  FakeRemoteShell second;
  as_root(second);
  second.on(k_probe, ExecResult{0, k_installed, ""});
  Run run;
  REQUIRE(dm::provision_engine(first, request(), run.progress));
  REQUIRE(dm::provision_engine(second, request(), run.progress));
  CHECK(first.events() == second.events());
  REQUIRE(first.uploads().size() == second.uploads().size());
  for (std::size_t i = 0; i < first.uploads().size(); ++i) {
    CHECK(first.uploads()[i].data == second.uploads()[i].data);
  }
}

TEST_CASE("provision: Debian without an engine installs docker.io", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on_sequence(k_probe, {ExecResult{0, k_missing, ""}, ExecResult{0, k_installed, ""}});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE(report);
  CHECK(report->engine_state == "installed");
  REQUIRE(shell.count("apt-get install") == 1);
  const auto& commands = shell.commands();
  auto apt = std::find_if(commands.begin(), commands.end(),
                          [](const std::string& c) { return c.find("apt-get install") != std::string::npos; });
  CHECK(*apt == "apt-get update -q -o DPkg::Lock::Timeout=300 && DEBIAN_FRONTEND=noninteractive "
                "apt-get install -y -q -o DPkg::Lock::Timeout=300 --no-install-recommends docker.io");
  CHECK(shell.timeouts()[static_cast<std::size_t>(apt - commands.begin())] == 600);
  CHECK(shell.count(k_probe) == 2); // again after the install, for the dockerd path
  CHECK(shell.uploads().back().data.find("/usr/sbin/dockerd -H fd://") != std::string::npos);
}

TEST_CASE("provision: waits out an apt lock held by someone else", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on_sequence(k_probe, {ExecResult{0, k_missing, ""}, ExecResult{0, k_installed, ""}});
  shell.on_sequence("apt-get install",
                    {ExecResult{100, "", "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 812 (unattended-upgr)\n"},
                     ExecResult{0, "", ""}});
  Run run;
  REQUIRE(dm::provision_engine(shell, request(), run.progress));
  CHECK(shell.count("apt-get install") == 2);
  CHECK(shell.count("sleep 15; apt-get update") == 1);
}

TEST_CASE("provision: an apt lock that never goes away fails after bounded retries", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_missing, ""});
  shell.on("apt-get install", ExecResult{100, "", "E: Could not get lock /var/lib/dpkg/lock-frontend\n"});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK(shell.count("apt-get install") == 5);
  CHECK(report.error().message.find("provision: install the engine: run \"apt-get update") == 0);
  CHECK(report.error().message.find("exit 100: E: Could not get lock") != std::string::npos);
  CHECK(shell.uploads().empty());
}

TEST_CASE("provision: --engine-install-url runs the script instead of packages", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on_sequence(k_probe, {ExecResult{0, k_missing, ""}, ExecResult{0, "dockerd=/usr/bin/dockerd\nsocket=not-found\nrequires=\n", ""}});
  auto req = request();
  req.engine.install_url = "https://get.docker.com";
  Run run;
  auto report = dm::provision_engine(shell, req, run.progress);
  REQUIRE(report);
  CHECK(report->engine_state == "installed");
  CHECK(shell.count("apt-get") == 0);
  // A fresh private file, not a fixed /tmp path another user could plant.
  CHECK(shell.count("f=$(mktemp /tmp/dmachine-install.XXXXXX) || exit 1; trap 'rm -f \"$f\"' EXIT;") == 1);
  CHECK(shell.count("curl -fsSL https://get.docker.com -o \"$f\"") == 1);
  CHECK(shell.count("/tmp/dmachine-engine-install.sh") == 0);
  CHECK(shell.uploads().back().data.find("/usr/bin/dockerd -H unix:///var/run/docker.sock") != std::string::npos);
}

TEST_CASE("provision: non-root user runs everything through sudo -n", "[provisioner]") {
  FakeRemoteShell shell;
  as_user(shell);
  shell.on("sudo -n true", ExecResult{0, "/tmp/dmachine.Ab12Cd\n", ""});
  shell.on(k_probe, ExecResult{0, k_installed, ""});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE(report);
  const auto& commands = shell.commands();
  REQUIRE(commands.size() == 6);
  CHECK(commands[0] == "id -u && id -un && cat /etc/os-release");
  CHECK(commands[1] == "sudo -n true && mktemp -d /tmp/dmachine.XXXXXX");
  for (std::size_t i = 2; i < commands.size(); ++i) {
    CHECK(starts_with(commands[i], "sudo -n sh -c '"));
    CHECK(commands[i].find("SECRETKEYMATERIAL") == std::string::npos);
  }
  REQUIRE(shell.uploads().size() == 4);
  CHECK(shell.uploads()[0].path == "/tmp/dmachine.Ab12Cd/0");
  CHECK(shell.uploads()[2].path == "/tmp/dmachine.Ab12Cd/2");
  CHECK(shell.uploads()[2].mode == 0600);
  CHECK(shell.uploads()[2].data == k_key);
  CHECK(commands[4].find("install -m 0600 /tmp/dmachine.Ab12Cd/2 /etc/docker/server-key.pem.dmachine-new && mv -f /etc/docker/server-key.pem.dmachine-new /etc/docker/server-key.pem") != std::string::npos);
  // The staging directory goes whether the moves succeed or not.
  CHECK(commands[4].find("sudo -n sh -c 'trap '\\''rm -rf /tmp/dmachine.Ab12Cd'\\'' EXIT; ") == 0);
  CHECK(commands[5].find("systemctl restart docker.service") != std::string::npos);
}

TEST_CASE("provision: sudo asking for a password fails fast", "[provisioner]") {
  FakeRemoteShell shell;
  as_user(shell);
  shell.on("sudo -n true", ExecResult{1, "", "sudo: a password is required\n"});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK(report.error().message ==
        "provision: user \"admin\" needs passwordless sudo on the host (sudo asked for a "
        "password); add \"admin ALL=(ALL) NOPASSWD:ALL\" to /etc/sudoers.d/ or use root");
  CHECK(shell.commands().size() == 2);
  CHECK(shell.uploads().empty());
  CHECK(shell.timeouts()[1] == 60);
}

TEST_CASE("provision: unsupported OS fails at detection", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell, "alpine-3.19");
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK(report.error().kind == dm::ErrorKind::unsupported);
  CHECK(starts_with(report.error().message, "provision: detect OS: unsupported OS \"Alpine Linux v3.19\""));
  CHECK(shell.commands().size() == 1);
  CHECK(shell.uploads().empty());
}

TEST_CASE("provision: daemon.json with hosts is reported, nothing written", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_installed + "daemon.json:\n{\"hosts\": [\"unix:///var/run/docker.sock\"], \"log-driver\": \"json-file\"}\n", ""});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK(report.error().message.find("/etc/docker/daemon.json sets \"hosts\"") != std::string::npos);
  CHECK(report.error().message.find("remove it from /etc/docker/daemon.json") != std::string::npos);
  CHECK(shell.uploads().empty());
  CHECK(shell.count("systemctl restart") == 0);
}

TEST_CASE("provision: a failing restart shows the journal", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_installed, ""});
  shell.on("systemctl restart docker.service",
           ExecResult{1, "", "Job for docker.service failed.\ndockerd[42]: unable to configure the Docker daemon\n"});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK(report.error().message ==
        "provision: restart docker: run \"systemctl restart docker.service\": exit 1: Job for "
        "docker.service failed.\ndockerd[42]: unable to configure the Docker daemon");
  CHECK(run.out.str().find("Restarting docker.service") != std::string::npos);
}

TEST_CASE("provision: transport errors name the command", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.fail_on("hostname web1", dm::Error{dm::ErrorKind::timeout, "timed out after 60 s"});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK(report.error().kind == dm::ErrorKind::timeout);
  CHECK(starts_with(report.error().message, "provision: set hostname: run \"{ hostname"));
  CHECK(report.error().message.find("timed out after 60 s") != std::string::npos);
}

TEST_CASE("install_server_certs uploads the certificates and restarts", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_installed, ""});
  auto result = dm::install_server_certs(shell, request());
  REQUIRE(result);
  const auto& events = shell.events();
  REQUIRE(events.size() == 8);
  CHECK(events[1] == "exec: mkdir -p -m 0755 /etc/docker /etc/systemd/system/docker.service.d");
  CHECK(events[2] == "exec: " + dm::engine_probe_command());
  CHECK(events[5] == "upload: /etc/docker/server-key.pem 0600");
  // The drop-in is rewritten too: a host of dmachine before issue 9 moves to
  // docker-machine's layout, a docker-machine host gets dmachine's flags.
  CHECK(events[6] == "upload: /etc/systemd/system/docker.service.d/10-machine.conf 0644");
  CHECK(starts_with(events[7], k_restart_prefix));
  CHECK(events[7].find("systemctl restart docker.service") != std::string::npos);
  CHECK(shell.count("apt-get") == 0);
}

TEST_CASE("upgrade_engine runs the family's upgrade and restarts", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell, "fedora-39");
  Run run;
  REQUIRE(dm::upgrade_engine(shell, run.progress));
  REQUIRE(shell.commands().size() == 3);
  CHECK(shell.commands()[1].find("dnf upgrade -y moby-engine") != std::string::npos);
  CHECK(shell.timeouts()[1] == 600);
  CHECK(shell.commands()[2].find("systemctl restart docker.service") != std::string::npos);
}

TEST_CASE("parse_engine_probe and check_daemon_json", "[provisioner]") {
  auto probe = dm::parse_engine_probe(
      "dockerd=/usr/bin/dockerd\nsocket=masked\nrequires=sysinit.target\nexecstart=/etc/systemd/"
      "system/docker.service.d/override.conf\ndaemon.json:\n{\"a\": 1}\n");
  CHECK(probe.dockerd_path == "/usr/bin/dockerd");
  CHECK(probe.socket_load_state == "masked");
  CHECK_FALSE(probe.service_requires_socket);
  CHECK(probe.exec_start_dropins ==
        std::vector<std::string>{"/etc/systemd/system/docker.service.d/override.conf"});
  REQUIRE(probe.daemon_json);
  CHECK(*probe.daemon_json == "{\"a\": 1}\n");
  auto none = dm::parse_engine_probe("dockerd=\nsocket=loaded\nrequires=docker.socket\n");
  CHECK(none.dockerd_path.empty());
  CHECK(none.socket_load_state == "loaded");
  CHECK(none.service_requires_socket);
  CHECK_FALSE(none.daemon_json);

  dm::DockerdConfigInput input;
  CHECK(dm::check_daemon_json("{\"log-driver\": \"local\"}", input));
  CHECK(dm::check_daemon_json("", input));
  auto conflict = dm::check_daemon_json("{\"live-restore\": true, \"tlsverify\": true}", input);
  REQUIRE_FALSE(conflict);
  CHECK(conflict.error().message.find("sets \"tlsverify\", \"live-restore\"") != std::string::npos);
  input.live_restore = dm::LiveRestore::no;
  CHECK(dm::check_daemon_json("{\"live-restore\": true}", input));
  auto broken = dm::check_daemon_json("{not json", input);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().message.find("not valid JSON") != std::string::npos);
}

TEST_CASE("socket activation follows docker.service and docker.socket", "[provisioner]") {
  dm::EngineProbe probe;
  probe.dockerd_path = "/usr/sbin/dockerd";

  // Debian's and docker-ce's units: Requires=docker.socket, the socket is loaded.
  probe.service_requires_socket = true;
  probe.socket_load_state = "loaded";
  auto stock = dm::choose_socket_activation(probe);
  REQUIRE(stock);
  CHECK(*stock == dm::SocketActivation::yes);

  // A unit of its own (systemctl edit --full) without the socket: dockerd makes its own.
  probe.service_requires_socket = false;
  for (const char* state : {"masked", "not-found", "loaded", ""}) {
    probe.socket_load_state = state;
    auto custom = dm::choose_socket_activation(probe);
    REQUIRE(custom);
    CHECK(*custom == dm::SocketActivation::no);
  }

  // The stock unit with the socket masked cannot start at all: say so.
  probe.service_requires_socket = true;
  probe.socket_load_state = "masked";
  auto masked = dm::choose_socket_activation(probe);
  REQUIRE_FALSE(masked);
  CHECK_THAT(masked.error().message, Catch::Contains("docker.socket is masked"));
  CHECK_THAT(masked.error().message, Catch::Contains("systemctl unmask docker.socket"));
  CHECK_THAT(masked.error().message, Catch::Contains("systemctl edit --full docker.service"));
  probe.socket_load_state = "not-found";
  auto absent = dm::choose_socket_activation(probe);
  REQUIRE_FALSE(absent);
  CHECK_THAT(absent.error().message, Catch::Contains("docker.socket is not-found"));
}

TEST_CASE("provision: docker.socket masked and a unit of its own: -H unix://", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, "dockerd=/usr/sbin/dockerd\nsocket=masked\nrequires=sysinit.target\n", ""});
  Run run;
  REQUIRE(dm::provision_engine(shell, request(), run.progress));
  const std::string& dropin = shell.uploads().back().data;
  CHECK(starts_with(dropin, "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd -H unix:///var/run/docker.sock -H tcp://0.0.0.0:2376"));
  CHECK(dropin.find("fd://") == std::string::npos);
}

TEST_CASE("provision: docker.socket masked under the stock unit fails before writing", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, "dockerd=/usr/sbin/dockerd\nsocket=masked\nrequires=docker.socket sysinit.target\n", ""});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK_THAT(report.error().message, Catch::StartsWith("provision: configure dockerd: docker.service requires docker.socket"));
  CHECK(shell.uploads().empty());
  CHECK(shell.count("systemctl restart") == 0);
}

TEST_CASE("provision: a docker-machine host's drop-in is overwritten, not added to", "[provisioner]") {
  // docker-machine wrote 10-machine.conf with ExecStart=; it is the file dmachine
  // writes, so it does not count as another drop-in.
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_installed + "execstart=/etc/systemd/system/docker.service.d/10-machine.conf\n"
                                                "execstart=/etc/systemd/system/docker.service.d/10-dmachine.conf\n", ""});
  Run run;
  REQUIRE(dm::provision_engine(shell, request(), run.progress));
  CHECK(shell.uploads().back().path == "/etc/systemd/system/docker.service.d/10-machine.conf");
  CHECK(starts_with(shell.events().back(), k_restart_prefix));
}

TEST_CASE("provision: a later drop-in setting ExecStart= is reported, nothing written", "[provisioner]") {
  FakeRemoteShell shell;
  as_root(shell);
  shell.on(k_probe, ExecResult{0, k_installed + "execstart=/etc/systemd/system/docker.service.d/override.conf\n", ""});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK_THAT(report.error().message, Catch::Contains("/etc/systemd/system/docker.service.d/override.conf sets ExecStart="));
  CHECK(shell.uploads().empty());

  dm::EngineProbe earlier;
  earlier.exec_start_dropins = {"/etc/systemd/system/docker.service.d/05-old.conf",
                                "/run/systemd/system/docker.service.d/10-dmachine.conf"};
  CHECK(dm::check_other_dropins(earlier));
}

TEST_CASE("provision: a failing install as a sudo user removes the staging directory", "[provisioner]") {
  FakeRemoteShell shell;
  as_user(shell);
  shell.on("sudo -n true", ExecResult{0, "/tmp/dmachine.Ab12Cd\n", ""});
  shell.on(k_probe, ExecResult{0, k_missing, ""});
  shell.on("apt-get install", ExecResult{100, "", "E: Unable to locate package docker.io\n"});
  Run run;
  REQUIRE_FALSE(dm::provision_engine(shell, request(), run.progress));
  CHECK(shell.commands().back() == "rm -rf /tmp/dmachine.Ab12Cd");
  CHECK(shell.uploads().empty());
}

TEST_CASE("provision: a failing move as a sudo user leaves no key behind", "[provisioner]") {
  FakeRemoteShell shell;
  as_user(shell);
  shell.on("sudo -n true", ExecResult{0, "/tmp/dmachine.Ab12Cd\n", ""});
  shell.on(k_probe, ExecResult{0, k_installed, ""});
  shell.on("install -m", ExecResult{1, "", "install: cannot create regular file: Read-only file system\n"});
  Run run;
  REQUIRE_FALSE(dm::provision_engine(shell, request(), run.progress));
  // The trap of the move command removed it as root; nothing runs after.
  CHECK(shell.commands().back().find("trap '\\''rm -rf /tmp/dmachine.Ab12Cd'\\'' EXIT") != std::string::npos);
}

TEST_CASE("provision: an odd mktemp answer is refused", "[provisioner]") {
  FakeRemoteShell shell;
  as_user(shell);
  shell.on("sudo -n true", ExecResult{0, "/tmp/dmachine.x; reboot\n", ""});
  Run run;
  auto report = dm::provision_engine(shell, request(), run.progress);
  REQUIRE_FALSE(report);
  CHECK_THAT(report.error().message, Catch::Contains("unexpected output"));
  CHECK(shell.commands().size() == 2); // nothing else, no cleanup of that path
}
