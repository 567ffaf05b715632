#pragma once
// What `--root` ranks get besides uid 0: a seccomp filter under which
// chown and its kin, the set*id calls, setgroups and mknod of device nodes
// report success and do nothing. A user namespace maps one uid, so dpkg,
// apt or pip as root, which chown their files and drop privileges, would
// fail on the first call; with the filter they work, as under enroot's and
// Charliecloud's seccomp modes. Set just before exec; inherited by every
// child and kept across exec (no_new_privs).
namespace hl::wireup {

void install_fake_root_filter();

}  // namespace hl::wireup
