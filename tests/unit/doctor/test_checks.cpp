// The verdicts and fixes of `hpclaunch doctor` on made-up facts: a healthy
// node, and each way a node can fail (sysctls, AppArmor, /dev/fuse, a
// squatted runtime dir, missing libraries, no launcher, a broken image).
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "doctor/checks.hpp"

using namespace hl;
using namespace hl::doctor;

namespace {

Outcome broken(int err, std::string op, std::string hint = {}) {
  return Outcome{false, op + ": " + std::strerror(err), std::move(hint)};
}

ToolRun ran(std::string path, std::string output, int code = 0) {
  ToolRun t;
  t.path = std::move(path);
  t.exit_code = code;
  t.output = std::move(output);
  return t;
}

constexpr const char* kMpiList =
    "MPI plugin types are...\n\tpmix\n\tnone\n\tcray_shasta\n\tpmi2\nspecific pmix plugin versions available: "
    "pmix_v4\n";

// This test machine, more or less: Debian 12's userland, kernel 6.18.
HostFacts healthy() {
  HostFacts f;
  f.kernel_release = "6.18.44-fc-v669";
  f.max_user_namespaces = 96365;
  f.runtime_dir = success("/tmp/hpclaunch-1000");
  f.tmp_dir = DirFacts{"/tmp", "", true, true, true, true, 80'000'000'000};
  for (const char* name : {"hpclaunch-node", "hpclaunch-join", "hpclaunch-import"}) {
    f.binaries.push_back(BinaryFacts{name, std::string("/usr/bin/") + name, true, {}});
  }
  f.srun_version = ran("/usr/bin/srun", "slurm-wlm 22.05.8\n");
  f.srun_mpi_list = ran("/usr/bin/srun", kMpiList);
  f.mpirun_version =
      ran("/usr/bin/mpirun", "mpirun (Open MPI) 4.1.4\n\nReport bugs to http://www.open-mpi.org/community/help/\n");
  NodeProbes p;
  for (Outcome* o :
       {&p.user_namespace, &p.openat2, &p.mount_setattr, &p.pidfd, &p.overlay, &p.fuse_device, &p.fuse_mount}) {
    *o = success("fine");
  }
  p.pmix_version = "OpenPMIx 4.2.2rc2 (PMIx Standard: 4.2, Stable ABI: 0.0, Provisional ABI: 0.0)";
  f.node = p;
  return f;
}

const Check& find(const std::vector<Check>& checks, const std::string& id) {
  auto it = std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.id == id; });
  if (it == checks.end()) throw std::runtime_error("no check " + id);
  return *it;
}

Result result_of(const HostFacts& f, const std::string& id) { return find(evaluate(f), id).result; }

}  // namespace

TEST(DoctorChecks, HealthyNodeCanLaunch) {
  auto checks = evaluate(healthy());
  EXPECT_TRUE(launches_can_work(checks));
  std::vector<std::string> ids;
  for (const auto& c : checks) {
    ids.push_back(c.id);
    EXPECT_NE(c.result, Result::fail) << c.id << ": " << c.detail;
  }
  std::vector<std::string> expected = {"kernel",
                                       "sysctl.user.max_user_namespaces",
                                       "sysctl.kernel.unprivileged_userns_clone",
                                       "sysctl.kernel.apparmor_restrict_unprivileged_userns",
                                       "selinux",
                                       "userns",
                                       "openat2",
                                       "mount_setattr",
                                       "pidfd_open",
                                       "overlayfs",
                                       "fuse-device",
                                       "fuse-userns",
                                       "runtime-dir",
                                       "tmp-dir",
                                       "binary.hpclaunch-node",
                                       "binary.hpclaunch-join",
                                       "binary.hpclaunch-import",
                                       "launcher",
                                       "slurm",
                                       "openmpi",
                                       "pmix"};
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(find(checks, "slurm").detail, "Slurm 22.05.8, PMIx plugin (pmix, pmix_v4)");
  EXPECT_EQ(find(checks, "pmix").detail, "OpenPMIx 4.2.2rc2 (the library of hpclaunch-node's node step)");
  EXPECT_EQ(find(checks, "kernel").detail, "Linux 6.18.44-fc-v669 (hpclaunch needs 5.12 or later)");
  // Absent sysctls and no SELinux do not apply here.
  EXPECT_EQ(find(checks, "sysctl.kernel.unprivileged_userns_clone").result, Result::skip);
  EXPECT_EQ(find(checks, "selinux").result, Result::skip);
}

TEST(DoctorChecks, RequiredAndInformationalChecks) {
  auto checks = evaluate(healthy());
  for (const char* id : {"userns", "overlayfs", "fuse-device", "fuse-userns", "runtime-dir", "tmp-dir",
                         "binary.hpclaunch-node", "binary.hpclaunch-join", "launcher"}) {
    EXPECT_TRUE(find(checks, id).required) << id;
  }
  for (const char* id : {"kernel", "selinux", "binary.hpclaunch-import", "slurm", "openmpi", "pmix"}) {
    EXPECT_FALSE(find(checks, id).required) << id;
  }
}

TEST(DoctorChecks, NoUserNamespacesAllowed) {
  HostFacts f = healthy();
  f.max_user_namespaces = 0;
  f.node->user_namespace = broken(ENOSPC, "unshare(user, mount namespace)",
                                  "unprivileged user namespaces must be "
                                  "enabled; run `hpclaunch doctor`");
  auto checks = evaluate(f);
  EXPECT_FALSE(launches_can_work(checks));
  EXPECT_EQ(find(checks, "sysctl.user.max_user_namespaces").result, Result::fail);
  const Check& userns = find(checks, "userns");
  EXPECT_EQ(userns.result, Result::fail);
  EXPECT_EQ(userns.detail, "unshare(user, mount namespace): No space left on device");
  EXPECT_EQ(userns.fix, "as root: sysctl -w user.max_user_namespaces=15000");
  // What needs a user namespace is not tried; what does not still is.
  for (const char* id : {"mount_setattr", "overlayfs", "fuse-userns"}) {
    EXPECT_EQ(find(checks, id).result, Result::skip) << id;
    EXPECT_EQ(find(checks, id).detail, "needs user namespaces") << id;
  }
  EXPECT_EQ(find(checks, "openat2").result, Result::ok);
  EXPECT_EQ(find(checks, "fuse-device").result, Result::ok);
}

TEST(DoctorChecks, DebianSwitchOff) {
  HostFacts f = healthy();
  f.unprivileged_userns_clone = 0;
  f.node->user_namespace = broken(EPERM, "unshare(user, mount namespace)");
  auto checks = evaluate(f);
  EXPECT_EQ(find(checks, "sysctl.kernel.unprivileged_userns_clone").result, Result::fail);
  EXPECT_EQ(find(checks, "userns").fix, "as root: sysctl -w kernel.unprivileged_userns_clone=1");
  f.unprivileged_userns_clone = 1;
  f.node->user_namespace = success("fine");
  EXPECT_EQ(result_of(f, "sysctl.kernel.unprivileged_userns_clone"), Result::ok);
}

TEST(DoctorChecks, AppArmorRestrictionNamesTheProfile) {
  HostFacts f = healthy();
  f.apparmor_restrict_userns = 1;
  // Restricted but allowed by a profile for hpclaunch-node: the probe decides.
  EXPECT_EQ(result_of(f, "sysctl.kernel.apparmor_restrict_unprivileged_userns"), Result::warn);
  EXPECT_TRUE(launches_can_work(evaluate(f)));
  f.node->user_namespace = broken(EPERM, "mount tmpfs at `/tmp`");
  auto checks = evaluate(f);
  EXPECT_FALSE(launches_can_work(checks));
  EXPECT_NE(find(checks, "userns").fix.find("AppArmor profile"), std::string::npos);
  EXPECT_NE(find(checks, "userns").fix.find("kernel.apparmor_restrict_unprivileged_userns=0"), std::string::npos);
}

TEST(DoctorChecks, UserNamespacesRefusedInsideAContainer) {
  HostFacts f = healthy();
  f.node->user_namespace = broken(EPERM, "unshare(user, mount namespace)");
  EXPECT_NE(find(evaluate(f), "userns").fix.find("seccomp filter"), std::string::npos);
  f.chrooted = true;
  EXPECT_EQ(find(evaluate(f), "userns").fix,
            "this is a chroot, and the kernel creates no user namespace for a chrooted process: run outside it");
  f.selinux_enforcing = true;
  auto checks = evaluate(f);
  EXPECT_NE(find(checks, "userns").fix.find("ausearch"), std::string::npos);
  EXPECT_EQ(find(checks, "selinux").result, Result::warn);  // informational: never fail
}

TEST(DoctorChecks, FuseDevice) {
  HostFacts f = healthy();
  f.node->fuse_device = broken(EACCES, "cannot open `/dev/fuse`",
                               "make /dev/fuse usable by users: chmod 666 /dev/fuse (scripts/setup does it); run "
                               "`hpclaunch doctor`");
  auto checks = evaluate(f);
  EXPECT_FALSE(launches_can_work(checks));
  const Check& fuse = find(checks, "fuse-device");
  EXPECT_EQ(fuse.result, Result::fail);
  EXPECT_EQ(fuse.detail, "cannot open `/dev/fuse`: Permission denied");
  EXPECT_TRUE(fuse.fix.starts_with("as root: chmod 666 /dev/fuse")) << fuse.fix;
  EXPECT_EQ(find(checks, "fuse-userns").result, Result::skip);
  EXPECT_EQ(find(checks, "fuse-userns").detail, "needs /dev/fuse");
  f.node->fuse_device = broken(ENOENT, "cannot open `/dev/fuse`");
  EXPECT_EQ(find(evaluate(f), "fuse-device").fix, "as root: modprobe fuse (the fuse kernel module)");
}

TEST(DoctorChecks, KernelFeaturesMissing) {
  HostFacts f = healthy();
  f.kernel_release = "5.10.0-28-amd64";
  f.node->mount_setattr = broken(ENOSYS, "mount_setattr(MOUNT_ATTR_RDONLY) `/tmp/ro`");
  f.node->overlay = broken(EINVAL, "mount overlayfs at `/tmp/merged`");
  auto checks = evaluate(f);
  const Check& kernel = find(checks, "kernel");
  EXPECT_EQ(kernel.result, Result::warn);
  EXPECT_EQ(
      kernel.detail,
      "Linux 5.10.0-28-amd64 is older than 5.12; it may lack overlayfs with userxattr in a user namespace (5.11), "
      "mount_setattr (5.12)");
  EXPECT_EQ(find(checks, "mount_setattr").fix,
            "mount_setattr needs Linux 5.12 or later (or a seccomp filter that knows it)");
  EXPECT_EQ(find(checks, "overlayfs").fix,
            "unprivileged overlayfs with the userxattr option needs Linux 5.11 or later");
  EXPECT_FALSE(launches_can_work(checks));
  f.node->openat2 = broken(EPERM, "openat2(RESOLVE_IN_ROOT)");
  EXPECT_TRUE(find(evaluate(f), "openat2").fix.starts_with("a seccomp filter blocks openat2"));
}

TEST(DoctorChecks, NoReportFromTheNodeBinary) {
  HostFacts f = healthy();
  f.node.reset();
  f.node_error = "hpclaunch-node: error while loading shared libraries: libsquashfuse_ll.so.0";
  f.binaries[0].missing_libraries = {"libsquashfuse_ll.so.0"};
  auto checks = evaluate(f);
  EXPECT_FALSE(launches_can_work(checks));
  for (const char* id : {"userns", "openat2", "overlayfs", "fuse-device", "fuse-userns"}) {
    EXPECT_EQ(find(checks, id).result, Result::fail) << id;
    EXPECT_EQ(find(checks, id).detail, "not probed: " + f.node_error) << id;
  }
  const Check& node = find(checks, "binary.hpclaunch-node");
  EXPECT_EQ(node.detail, "`/usr/bin/hpclaunch-node` needs libsquashfuse_ll.so.0, which the dynamic loader cannot find");
  EXPECT_EQ(find(checks, "pmix").result, Result::warn);
}

TEST(DoctorChecks, SquattedRuntimeDir) {
  HostFacts f = healthy();
  f.runtime_dir = Outcome{false, "private directory `/tmp/hpclaunch-1000` belongs to uid 1002 (mallory), not to you",
                          "another user created it first: ask them or an admin to remove it, or set "
                          "HPCLAUNCH_RUNTIME_DIR to a directory only you can write; run `hpclaunch doctor`"};
  auto checks = evaluate(f);
  EXPECT_FALSE(launches_can_work(checks));
  const Check& c = find(checks, "runtime-dir");
  EXPECT_EQ(c.result, Result::fail);
  EXPECT_EQ(c.detail, f.runtime_dir.detail);
  // The fix, without sending the reader back to doctor.
  EXPECT_EQ(c.fix,
            "another user created it first: ask them or an admin to remove it, or set HPCLAUNCH_RUNTIME_DIR to a "
            "directory only you can write");
}

TEST(DoctorChecks, TmpDir) {
  HostFacts f = healthy();
  f.tmp_dir = DirFacts{"/scratch/tmp", "No such file or directory", false, false, false, false, 0};
  EXPECT_EQ(find(evaluate(f), "tmp-dir").detail, "`/scratch/tmp`: No such file or directory");
  EXPECT_FALSE(launches_can_work(evaluate(f)));
  f.tmp_dir = DirFacts{"/tmp", "", true, false, false, false, 0};
  EXPECT_EQ(find(evaluate(f), "tmp-dir").detail, "you cannot create files in `/tmp`");
  f.tmp_dir = DirFacts{"/tmp", "", true, true, true, false, 2'000'000'000};
  auto evaluated = evaluate(f);
  const Check& c = find(evaluated, "tmp-dir");
  EXPECT_EQ(c.result, Result::warn);
  EXPECT_EQ(c.fix, "as root: chmod 1777 /tmp");
  EXPECT_TRUE(launches_can_work(evaluate(f)));
}

TEST(DoctorChecks, BinariesNextToHpclaunch) {
  HostFacts f = healthy();
  f.binaries[2].found = false;  // no hpclaunch-import: only import is affected
  EXPECT_EQ(result_of(f, "binary.hpclaunch-import"), Result::warn);
  EXPECT_TRUE(launches_can_work(evaluate(f)));
  f.binaries[1].found = false;
  EXPECT_EQ(result_of(f, "binary.hpclaunch-join"), Result::fail);
  EXPECT_FALSE(launches_can_work(evaluate(f)));
}

TEST(DoctorChecks, Launchers) {
  HostFacts f = healthy();
  EXPECT_EQ(find(evaluate(f), "launcher").detail,
            "Open MPI's mpirun 4.1.4 (this machine, or --hostfile); srun --mpi=pmix inside sbatch/salloc");
  // In an allocation hpclaunch launches with srun: its PMIx plugin is required.
  f.in_allocation = true;
  f.srun_mpi_list = ran("/usr/bin/srun", "MPI plugin types are...\n\tnone\n\tpmi2\n");
  auto evaluated = evaluate(f);
  const Check& c = find(evaluated, "launcher");
  EXPECT_EQ(c.result, Result::fail);
  EXPECT_NE(c.fix.find("--launcher mpirun"), std::string::npos);
  EXPECT_EQ(result_of(f, "slurm"), Result::warn);
  // Outside one, only srun: launches work from sbatch/salloc.
  f = healthy();
  f.mpirun_version = ToolRun{};
  EXPECT_EQ(result_of(f, "launcher"), Result::warn);
  EXPECT_EQ(result_of(f, "openmpi"), Result::skip);
  EXPECT_TRUE(launches_can_work(evaluate(f)));
  // MPICH's mpirun is not one hpclaunch can drive.
  f.mpirun_version = ran("/usr/bin/mpirun", "HYDRA build details:\n    Version: 4.0.2\n");
  f.srun_version = ToolRun{};
  EXPECT_EQ(find(evaluate(f), "launcher").detail, "`/usr/bin/mpirun` is not Open MPI's (HYDRA build details:)");
  EXPECT_FALSE(launches_can_work(evaluate(f)));
  EXPECT_EQ(result_of(f, "slurm"), Result::skip);
  f.mpirun_version = ToolRun{};
  EXPECT_EQ(result_of(f, "launcher"), Result::fail);
}

TEST(DoctorChecks, SlurmWithoutConfiguration) {
  HostFacts f = healthy();
  f.srun_version = ran("/usr/bin/srun", "srun: fatal: Could not establish a configuration source\n", 1);
  f.srun_mpi_list = ran("/usr/bin/srun",
                        "srun: error: fetch_config: DNS SRV lookup failed\nsrun: fatal: Could not "
                        "establish a configuration source\n",
                        1);
  auto evaluated = evaluate(f);
  const Check& c = find(evaluated, "slurm");
  EXPECT_EQ(c.result, Result::warn);
  EXPECT_EQ(c.detail,
            "`/usr/bin/srun`; `srun --mpi=list` failed (exit 1): srun: fatal: Could not establish a "
            "configuration source");
  f.srun_mpi_list.timed_out = true;
  EXPECT_NE(find(evaluate(f), "slurm").detail.find("did not answer in time"), std::string::npos);
}

TEST(DoctorChecks, Image) {
  HostFacts f = healthy();
  f.image_open =
      Outcome{false, "image `/data/app.sqsh` is truncated: its superblock says 10613016 bytes, the file has 5000000",
              "the copy was cut short; copy the image again"};
  auto checks = evaluate(f);
  EXPECT_EQ(find(checks, "image-open").result, Result::fail);
  EXPECT_EQ(find(checks, "image-open").fix, "the copy was cut short; copy the image again");
  EXPECT_EQ(find(checks, "image-mount").result, Result::skip);
  EXPECT_FALSE(launches_can_work(checks));
  f.image_open = success("`/data/app.sqsh`: squashfs 4.0, zstd, 10.6 MB, 452 inodes");
  f.node->image_mount = broken(EIO, "image `/data/app.sqsh`: read `/etc/environment` of the image");
  EXPECT_EQ(result_of(f, "image-mount"), Result::fail);
  f.node->image_mount = success("mounted");
  EXPECT_TRUE(launches_can_work(evaluate(f)));
  EXPECT_EQ(evaluate(f).back().id, "image-mount");
  f.node->image_mount.reset();  // asked for, never probed
  EXPECT_EQ(result_of(f, "image-mount"), Result::fail);
}

TEST(DoctorParsers, Versions) {
  EXPECT_EQ(kernel_version("6.18.44-fc-v669"), std::pair(6, 18));
  EXPECT_EQ(kernel_version("5.4.0-150-generic"), std::pair(5, 4));
  EXPECT_EQ(kernel_version("abc"), std::nullopt);
  EXPECT_EQ(kernel_version("6"), std::nullopt);
  EXPECT_EQ(slurm_version("slurm 23.11.1\n"), "23.11.1");
  EXPECT_EQ(slurm_version("slurm-wlm 22.05.8\n"), "22.05.8");
  EXPECT_EQ(slurm_version("srun: fatal: no config\n"), "");
  EXPECT_EQ(srun_pmix_plugins(kMpiList), (std::vector<std::string>{"pmix", "pmix_v4"}));
  EXPECT_TRUE(srun_pmix_plugins("MPI plugin types are...\n\tnone\n\tpmi2\n").empty());
  EXPECT_EQ(open_mpi_version("mpirun (Open MPI) 4.1.4\n\nReport bugs\n"), "4.1.4");
  EXPECT_EQ(open_mpi_version("HYDRA build details:\n"), "");
  EXPECT_EQ(kernel_baseline().back().major, 5);
  EXPECT_EQ(kernel_baseline().back().minor, 12);
}

TEST(DoctorParsers, DoctorHintRemoved) {
  EXPECT_EQ(without_doctor_hint("chmod 666 /dev/fuse; run `hpclaunch doctor`"), "chmod 666 /dev/fuse");
  EXPECT_EQ(without_doctor_hint("run `hpclaunch doctor`"), "");
  EXPECT_EQ(without_doctor_hint("copy the image again"), "copy the image again");
}
