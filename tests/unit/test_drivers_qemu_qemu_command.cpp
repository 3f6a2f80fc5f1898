#include "drivers/qemu/qemu_command.h"
#include "drivers/qemu/qmp_client.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>

using namespace dm;
using namespace dm::qemu;

namespace {

std::string after(const std::vector<std::string>& argv, const std::string& option, int nth = 0) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == option && nth-- == 0) {
      return argv[i + 1];
    }
  }
  return "";
}

} // namespace

TEST_CASE("qemu command line: bridge and user networking", "[qemu]") {
  LaunchSpec spec;
  spec.name = "q1";
  spec.machine_dir = "/s,x/machines/q1";
  spec.memory_mb = 512;
  spec.cpus = 2;
  spec.mac = "52:54:00:12:34:56";
  spec.tap = "dmqt0123456789";
  auto argv = qemu_system_argv(spec);
  CHECK(argv.front() == "qemu-system-x86_64");
  CHECK(argv.back() == "-daemonize");
  CHECK(after(argv, "-accel") == "tcg,tb-size=256");
  CHECK(after(argv, "-m") == "512");
  CHECK(after(argv, "-smp") == "2");
  CHECK(after(argv, "-drive", 0) == "file=/s,,x/machines/q1/disk.qcow2,if=virtio,format=qcow2,discard=unmap");
  CHECK(after(argv, "-drive", 1) == "file=/s,,x/machines/q1/seed.iso,media=cdrom,if=ide,readonly=on");
  CHECK(after(argv, "-netdev") == "tap,id=net0,ifname=dmqt0123456789,script=no,downscript=no");
  CHECK(after(argv, "-device") == "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56");
  CHECK(after(argv, "-qmp") == "unix:/s,,x/machines/q1/qmp.sock,server=on,wait=off");
  CHECK(after(argv, "-pidfile") == "/s,x/machines/q1/qemu.pid");
  CHECK(std::find(argv.begin(), argv.end(), "-no-shutdown") == argv.end());

  spec.accel = Accel::kvm;
  spec.network = NetworkMode::user;
  spec.user_net = "10.0.2.0/24";
  spec.user_host = "10.0.2.1";
  spec.guest_ip = "10.0.2.2";
  spec.ssh_forward = 40022;
  spec.engine_forward = 42376;
  argv = qemu_system_argv(spec);
  CHECK(after(argv, "-accel") == "kvm");
  CHECK(after(argv, "-netdev") ==
        "user,id=net0,net=10.0.2.0/24,host=10.0.2.1,hostfwd=tcp:127.0.0.1:40022-10.0.2.2:22,"
        "hostfwd=tcp:127.0.0.1:42376-10.0.2.2:2376");
}

TEST_CASE("qemu command line: overlay and interface names", "[qemu]") {
  CHECK(overlay_create_argv("/c/base.img", "raw", "/m/disk.qcow2", 20000) ==
        std::vector<std::string>{"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b",
                                 "/c/base.img", "/m/disk.qcow2", "20000M"});
  auto bridge = bridge_name("10.213.244.1/24");
  CHECK(std::regex_match(bridge, std::regex("dmq[0-9a-f]{8}")));
  CHECK(bridge == bridge_name("10.213.244.1/24"));
  CHECK(bridge != bridge_name("10.213.245.1/24"));
  auto tap = tap_name("/store/machines/q1");
  CHECK(std::regex_match(tap, std::regex("dmqt[0-9a-f]{10}")));
  CHECK(tap.size() <= 15);
  CHECK(tap != tap_name("/store/machines/q2"));
  CHECK(qemu_option_value("a,b,,c") == "a,,b,,,,c");
}

TEST_CASE("qemu states from QMP query-status", "[qemu]") {
  CHECK(state_from_qmp_status("running") == MachineState::running);
  CHECK(state_from_qmp_status("paused") == MachineState::paused);
  CHECK(state_from_qmp_status("suspended") == MachineState::paused);
  CHECK(state_from_qmp_status("shutdown") == MachineState::stopping);
  CHECK(state_from_qmp_status("guest-panicked") == MachineState::error);
  CHECK(state_from_qmp_status("\x1b[31m") == MachineState::error);
}

TEST_CASE("qmp reader: events skipped, partial lines kept, garbage refused", "[qemu]") {
  QmpReader reader;
  bool complete = false;
  reader.buffer = "{\"QMP\": {\"version\": {}}}\r\n{\"event\": \"RESET\"}\n{\"return\": {\"status\": \"run";
  auto greeting = reader.next_message(complete);
  REQUIRE(greeting);
  CHECK(complete);
  CHECK(greeting->contains("QMP"));
  auto next = reader.next_message(complete);
  REQUIRE(next);
  CHECK_FALSE(complete);
  reader.buffer += "ning\"}}\n";
  next = reader.next_message(complete);
  REQUIRE(next);
  CHECK(complete);
  CHECK((*next)["return"]["status"] == "running");

  reader.buffer = "not json\n";
  CHECK_FALSE(reader.next_message(complete));
  reader.buffer = "[1,2]\n";
  CHECK_FALSE(reader.next_message(complete));
}
