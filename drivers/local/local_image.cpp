#include "drivers/local/local_image.h"

#include "core/machine_store.h"
#include "core/shell_quote.h"

#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <system_error>
#include <unistd.h>

namespace dm::local {

namespace fs = std::filesystem;

namespace {

constexpr int k_image_lock_timeout_seconds = 3600;
constexpr int k_debootstrap_timeout_seconds = 1800;
// In <cache>/images: what tells a cache dmachine made from any other directory.
constexpr const char* k_cache_marker = ".dmachine-image-cache";

} // namespace

bool ImageCache::is_cache(const fs::path& cache_dir) {
  std::error_code error;
  return fs::is_regular_file(fs::symlink_status(cache_dir / "images" / k_cache_marker, error));
}

fs::path ImageCache::rootfs(const std::string& flavour) const {
  return m_images_dir / flavour / "rootfs";
}

Result<void> ImageCache::ensure(const std::string& flavour) const {
  std::error_code error;
  auto marker = m_images_dir / k_cache_marker;
  if (!fs::exists(fs::symlink_status(marker, error))) {
    DM_TRY(make_dir(m_images_dir, 0755));
    DM_TRY(write_file(marker, "Root filesystems built by dmachine's local driver.\n", 0644));
  }
  if (fs::exists(rootfs(flavour))) {
    return {};
  }
  auto lock = lock_file(m_images_dir / ".lock", k_image_lock_timeout_seconds);
  DM_TRY_CTX(lock, "lock the image cache");
  if (fs::exists(rootfs(flavour))) {
    return {}; // built by someone else while we waited
  }
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator(m_images_dir, ignored)) {
    if (entry.path().filename().string().rfind(".tmp-", 0) == 0) {
      DM_TRY_CTX(remove_tree(entry.path()), "remove an interrupted image build");
    }
  }
  if (flavour == "debian") {
    return build_base();
  }
  return build_docker();
}

Result<void> ImageCache::build_base() const {
  auto tmp = m_images_dir / fmt::format(".tmp-debian-{}", ::getpid());
  auto root = tmp / "rootfs";
  DM_TRY(make_dir(tmp, 0755));
  auto mirror = m_mirror.empty() ? detect_mirror() : m_mirror;
  auto began = std::chrono::steady_clock::now();
  fmt::print(stderr,
             "Building the local \"debian\" image with debootstrap from {} (about a "
             "minute, done once)...\n",
             mirror);
  std::fflush(stderr);
  auto result = m_tools.run_ok({"debootstrap", "--variant=minbase",
                                "--include=systemd-sysv,openssh-server,sudo,iproute2,"
                                "ca-certificates,curl,dbus,procps,iptables,kmod",
                                "bookworm", root.string(), mirror},
                               k_debootstrap_timeout_seconds);
  if (!result) {
    (void)remove_tree(tmp);
    return fail(result.error().with_context(
        "debootstrap (check that the mirror is reachable, or pass --local-mirror)"));
  }
  // Every machine gets its own host keys and machine-id at first boot; no gettys.
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root / "etc/ssh", error)) {
    if (entry.path().filename().string().rfind("ssh_host_", 0) == 0) {
      fs::remove(entry.path(), error);
    }
  }
  for (const char* unit : {"getty@.service", "console-getty.service", "serial-getty@.service",
                           "getty.target", "systemd-networkd-wait-online.service"}) {
    auto link = root / "etc/systemd/system" / unit;
    fs::remove(link, error);
    fs::create_symlink("/dev/null", link, error);
  }
  DM_TRY(write_file(root / "etc/machine-id", "", 0444));
  fs::remove(root / "var/lib/dbus/machine-id", error);
  DM_TRY(write_file(root / "etc/hostname", "localhost\n", 0644));
  (void)m_tools.run({"chroot", root.string(), "apt-get", "clean"});
  fs::rename(tmp, m_images_dir / "debian", error);
  if (error) {
    return fail(fmt::format("rename {} into place: {}", tmp.string(), error.message()));
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  fmt::print(stderr, "Built the \"debian\" image in {:.0f} s\n", seconds);
  return {};
}

Result<void> ImageCache::build_docker() const {
  if (!fs::exists(rootfs("debian"))) {
    DM_TRY(build_base());
  }
  auto tmp = m_images_dir / fmt::format(".tmp-debian-docker-{}", ::getpid());
  auto root = tmp / "rootfs";
  DM_TRY(make_dir(tmp, 0755));
  auto began = std::chrono::steady_clock::now();
  fmt::print(stderr, "Building the local \"debian-docker\" image (installs docker.io, done "
                     "once)...\n");
  std::fflush(stderr);
  auto cleanup = [&]() { (void)remove_tree(tmp); };
  auto copied = m_tools.run_ok({"cp", "-a", rootfs("debian").string(), root.string()}, 600);
  if (!copied) {
    cleanup();
    return fail(copied.error());
  }
  auto r = shell_quote(root.string());
  auto script = fmt::format("set -e\n"
                            "mount -t proc proc {r}/proc\n"
                            "mount --bind /dev {r}/dev\n"
                            "cp /etc/resolv.conf {r}/etc/resolv.conf\n"
                            "printf '#!/bin/sh\\nexit 101\\n' > {r}/usr/sbin/policy-rc.d\n"
                            "chmod 755 {r}/usr/sbin/policy-rc.d\n"
                            "export DEBIAN_FRONTEND=noninteractive\n"
                            "chroot {r} apt-get update -q\n"
                            "chroot {r} apt-get install -y -q --no-install-recommends docker.io\n"
                            "chroot {r} apt-get clean\n"
                            "rm -f {r}/usr/sbin/policy-rc.d {r}/etc/resolv.conf\n"
                            "umount {r}/dev {r}/proc\n",
                            fmt::arg("r", r));
  auto installed =
      m_tools.run_ok({"unshare", "--mount", "--propagation", "private", "sh", "-c", script},
                     k_debootstrap_timeout_seconds);
  if (!installed) {
    cleanup();
    return fail(installed.error().with_context("install docker.io in the image"));
  }
  std::error_code error;
  fs::rename(tmp, m_images_dir / "debian-docker", error);
  if (error) {
    cleanup();
    return fail(fmt::format("rename {} into place: {}", tmp.string(), error.message()));
  }
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  fmt::print(stderr, "Built the \"debian-docker\" image in {:.0f} s\n", seconds);
  return {};
}

} // namespace dm::local
