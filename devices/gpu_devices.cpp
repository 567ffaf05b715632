#include "devices/gpu_devices.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "common/child_process.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

namespace hl::devices {
namespace {

namespace fs = std::filesystem;

// The compute and management part of the driver (what nvidia-container-cli
// calls "compute" and "utility"); graphics and video libraries are left out.
constexpr std::array kDriverLibraries = {
    "libcuda",
    "libcudadebugger",
    "libnvidia-ml",
    "libnvidia-cfg",
    "libnvidia-ptxjitcompiler",
    "libnvidia-nvvm",
    "libnvidia-gpucomp",
    "libnvidia-opencl",
    "libnvidia-allocator",
    "libnvidia-pkcs11",
    "libnvidia-pkcs11-openssl3",
    "libnvidia-fatbinaryloader",
    "libnvidia-compiler",
};

bool is_driver_library(std::string_view soname) {
  return std::any_of(kDriverLibraries.begin(), kDriverLibraries.end(), [&](std::string_view stem) {
    std::string so = fmt::format("{}.so", stem);
    return soname == so || soname.starts_with(so + ".");
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "(libc6,x86-64, OS ABI: Linux 3.2.0)" names x86-64; "(libc6)" is 32-bit.
bool has_arch(std::string_view flags, std::string_view arch) {
  for (const auto& token : split(flags, ',')) {
    if (trim(token) == arch) return true;
  }
  return false;
}

bool directory_has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) && !ec;
}

std::string read_all(int fd) {
  std::string out;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return out;
    }
  }
}

}  // namespace

std::vector<std::string> list_nvidia_device_nodes(const std::string& dev_root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dev_root, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with("nvidia")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> parse_driver_libraries(std::string_view ldconfig_output, std::string_view arch) {
  std::vector<std::string> out;
  for (const auto& raw : split(ldconfig_output, '\n')) {
    // "\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1"
    std::string_view line = trim(raw);
    std::size_t open = line.find(" (");
    std::size_t close = line.find(") => ");
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) continue;
    std::string_view soname = line.substr(0, open);
    std::string_view path = trim(line.substr(close + 5));
    if (is_driver_library(soname) && has_arch(line.substr(open + 2, close - open - 2), arch) && !path.empty()) {
      out.emplace_back(path);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string find_in_path(std::string_view name, std::string_view path_list) {
  for (const auto& dir : split(path_list, ':')) {
    if (dir.empty()) continue;
    std::string candidate = fmt::format("{}/{}", dir, name);
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

std::string host_ldconfig_cache() {
  for (const char* ldconfig : {"/sbin/ldconfig", "/usr/sbin/ldconfig"}) {
    if (::access(ldconfig, X_OK) != 0) continue;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    UniqueFd read_end(fds[0]), write_end(fds[1]);
    SpawnOptions options;
    options.stdout_fd = write_end.get();
    ChildProcess child = ChildProcess::spawn({ldconfig, "-p"}, options);
    write_end.reset();  // so read_all sees EOF when ldconfig exits
    std::string output = read_all(read_end.get());
    if (child.wait() == 0) return output;
    log::info("{} -p failed: no host driver libraries", ldconfig);
  }
  return {};
}

HostDevices discover_host_devices(const DeviceRoots& roots, std::string_view ldconfig_output,
                                  std::string_view path_list) {
  HostDevices host;
  host.nvidia_nodes = list_nvidia_device_nodes(roots.dev);
  host.infiniband = directory_has_entries(fs::path(roots.dev) / "infiniband");
  std::error_code ec;
  host.libibverbs_config = fs::is_directory(fs::path(roots.etc) / "libibverbs.d", ec);
  // Libraries without a GPU are a leftover driver package, not a GPU node.
  if (!host.nvidia_nodes.empty()) {
    host.driver_libraries = parse_driver_libraries(ldconfig_output);
    host.nvidia_smi = find_in_path("nvidia-smi", path_list);
  }
  return host;
}

std::vector<DeviceBind> plan_device_binds(const HostDevices& host, const DeviceRoots& roots, GpuSelection gpus,
                                          bool hcas) {
  std::vector<DeviceBind> binds;
  if (gpus != GpuSelection::none && !host.nvidia_nodes.empty()) {
    for (const auto& node : host.nvidia_nodes) {
      binds.push_back({fmt::format("{}/{}", roots.dev, node), fmt::format("/dev/{}", node), false});
    }
    for (const auto& library : host.driver_libraries) {
      std::string name = fs::path(library).filename().string();
      binds.push_back({library, fmt::format("{}/{}", kContainerDriverLibDir, name), true});
    }
    if (!host.nvidia_smi.empty()) {
      binds.push_back({host.nvidia_smi, fmt::format("{}/nvidia-smi", kContainerDriverBinDir), true});
    }
  }
  if (hcas && host.infiniband) {
    binds.push_back({fmt::format("{}/infiniband", roots.dev), "/dev/infiniband", false});
    if (host.libibverbs_config) {
      binds.push_back({fmt::format("{}/libibverbs.d", roots.etc), "/etc/libibverbs.d", true});
    }
  }
  return binds;
}

std::string with_driver_dir(std::string_view path_list, std::string_view dir, const std::vector<DeviceBind>& binds) {
  bool used = std::any_of(binds.begin(), binds.end(), [&](const DeviceBind& b) {
    return b.target.size() > dir.size() && b.target.starts_with(dir) && b.target[dir.size()] == '/';
  });
  auto entries = split(path_list, ':');
  if (!used || std::find(entries.begin(), entries.end(), dir) != entries.end()) return std::string(path_list);
  return path_list.empty() ? std::string(dir) : fmt::format("{}:{}", path_list, dir);
}

}  // namespace hl::devices
