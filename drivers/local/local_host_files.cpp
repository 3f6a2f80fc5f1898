#include "drivers/local/local_host_files.h"

#include "drivers/local/local_util.h"

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace dm::local {

namespace fs = std::filesystem;

Result<void> write_host_files(const fs::path& upper, const std::string& machine_name,
                              const std::string& public_key) {
  DM_TRY(make_dir(upper / "etc", 0755));
  DM_TRY(write_file(upper / "etc/hostname", machine_name + "\n", 0644));
  DM_TRY(write_file(upper / "etc/hosts",
                    fmt::format("127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost "
                                "ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\n"
                                "ff02::2\tip6-allrouters\n",
                                machine_name),
                    0644));
  DM_TRY(write_file(upper / "etc/resolv.conf", resolv_conf(), 0644));
  DM_TRY(make_dir(upper / "root", 0700));
  DM_TRY(make_dir(upper / "root/.ssh", 0700));
  DM_TRY(write_file(upper / "root/.ssh/authorized_keys", public_key, 0600));
  return {};
}

Result<void> mask_generators(const fs::path& upper, const fs::path& lower) {
  // Generators turn fstab, init scripts, kernel options and disks into units, at boot and
  // at every daemon-reload (provisioning does one). A local host has none of those, and
  // the dozen generators cost about 15% of a machine's CPU until it is provisioned.
  const fs::path masks = "etc/systemd/system-generators";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(lower / "usr/lib/systemd/system-generators", ec)) {
    DM_TRY(make_dir(upper / "etc/systemd", 0755));
    DM_TRY(make_dir(upper / masks, 0755));
    const fs::path mask = upper / masks / entry.path().filename();
    fs::create_symlink("/dev/null", mask, ec);
    if (ec && ec != std::errc::file_exists) {
      return fail(fmt::format("mask {}: {}", mask.string(), ec.message()));
    }
    ec.clear();
  }
  return {};
}

Result<void> hold_engine_until_provisioned(const fs::path& upper, const fs::path& lower) {
  // dockerd started at the first boot would only be restarted by provisioning with
  // its TLS configuration: hiding the boot-time links (an overlayfs whiteout, a 0:0
  // character device) spares that start, about 0.4 s of CPU per machine. The
  // provisioner enables docker.service again, so later boots start the engine.
  const fs::path wants = "etc/systemd/system/multi-user.target.wants";
  for (const char* unit : {"docker.service", "containerd.service"}) {
    std::error_code ec;
    if (!fs::is_symlink(lower / wants / unit, ec)) {
      continue;
    }
    DM_TRY(make_dir(upper / "etc/systemd", 0755));
    DM_TRY(make_dir(upper / "etc/systemd/system", 0755));
    DM_TRY(make_dir(upper / wants, 0755));
    const fs::path whiteout = upper / wants / unit;
    if (::mknod(whiteout.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0 && errno != EEXIST) {
      return fail(fmt::format("mknod {}: {}", whiteout.string(), std::strerror(errno)));
    }
  }
  return {};
}

std::string resolv_conf() {
  auto text = read_text("/etc/resolv.conf");
  auto loopback = [](const std::string& content) {
    std::istringstream in(content);
    std::string line;
    bool any = false;
    bool all_loopback = true;
    while (std::getline(in, line)) {
      auto words = split_ws(line);
      if (words.size() >= 2 && words[0] == "nameserver") {
        any = true;
        all_loopback = all_loopback && words[1].rfind("127.", 0) == 0;
      }
    }
    return any && all_loopback;
  };
  if (loopback(text)) {
    auto upstream = read_text("/run/systemd/resolve/resolv.conf");
    if (!upstream.empty() && !loopback(upstream)) {
      return upstream;
    }
  }
  if (text.empty()) {
    return "nameserver 1.1.1.1\n";
  }
  return text;
}

} // namespace dm::local
