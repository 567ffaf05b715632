"""The staging dir (mktemp -d /tmp/hlbench.XXXXXX, readable by the test user):
binaries, the tracing wrapper, the image every mode runs; and the cleanup that
removes it with every job and ch-run --join segment of this run."""
import os
import stat
import re
import shutil
import subprocess
import tempfile
import time

import cluster
from common import LIB, REPO, log

TRACEWRAP = ('#!/bin/sh\n# tracewrap DIR PROGRAM ARGS...: strace -f -ff PROGRAM, one file per process in DIR\n'
             'd=$1; shift\n'
             'exec strace -f -ff -y -qq -e trace=%file,%stat '
             '-o "$d/$(hostname).${SLURM_STEP_ID:-x}.${SLURM_PROCID:-x}" "$@"\n')


def stage(ctx):
    """Makes the staging dir; sets ctx.work, job_name, tag_prefix, nodelocal,
    spool_parent, ch_binds and image."""
    ctx.work = tempfile.mkdtemp(prefix="hlbench.", dir="/tmp")
    os.chmod(ctx.work, 0o755)
    suffix = os.path.basename(ctx.work).split(".")[-1]
    ctx.job_name = "hlbench-" + suffix
    ctx.tag_prefix = "hlb" + suffix + "-"
    copy_programs(ctx.work)
    find_bind_targets(ctx)
    comp = make_app_image(ctx)
    make_ch_storage_dir(ctx)
    subprocess.run(["chown", "-R", f"{ctx.user}:", ctx.work], check=True)
    log(f"staged in {ctx.work} (image {os.path.getsize(ctx.image) // 1024} KiB, {comp})")


def copy_programs(w):
    build = os.path.join(REPO, "build")
    for d in ("bin", "logs", "plans", "trace"):
        os.makedirs(os.path.join(w, d))
    for f in ("hpclaunch", "hpclaunch-node", "hpclaunch-join", "hpclaunch-import"):
        shutil.copy2(os.path.join(build, f), os.path.join(w, "bin", f))
    for f in ("hello", "pingpong"):
        shutil.copy2(os.path.join(build, "examples", f), os.path.join(w, "bin", f))
    shutil.copy2(os.path.join(LIB, "runner.py"), os.path.join(w, "runner.py"))
    with open(os.path.join(w, "bin", "tracewrap"), "w") as f:
        f.write(TRACEWRAP)
    os.chmod(os.path.join(w, "bin", "tracewrap"), 0o755)


def find_bind_targets(ctx):
    """Bind targets ch-run needs in the image (it cannot create them in a
    read-only SquashFS): the PMIx client dir base and the slurmd spool dirs
    (PMIx server dirs). hpclaunch and ch-run run the same image."""
    ctx.nodelocal = ctx.conf_value("mpi.conf", "PMIxCliTmpDirBase") or "/tmp"
    spool = ctx.conf_value("slurm.conf", "SlurmdSpoolDir") or "/var/spool/slurmd"
    # SlurmdSpoolDir=/x/spool/%n: bind /x/spool (every node's spool dir lies in it)
    ctx.spool_parent = spool
    if "%" in spool:
        head = spool[:spool.index("%")]
        ctx.spool_parent = head.rstrip("/") if head.endswith("/") else os.path.dirname(head)
    ctx.ch_binds = []
    for d in (ctx.nodelocal, ctx.spool_parent):
        if d not in ("/tmp",):
            ctx.ch_binds += ["-b", d]


def make_app_image(ctx):
    """The example image plus the bind targets, same compressor: ctx.image. Returns the compressor."""
    root = os.path.join(ctx.work, "approot")
    example = os.path.join(REPO, "build", "examples", "solver.sqsh")
    subprocess.run(["unsquashfs", "-q", "-n", "-d", root, example], check=True, stdout=subprocess.DEVNULL)
    for d in (ctx.nodelocal, ctx.spool_parent):
        os.makedirs(root + d, exist_ok=True)
    comp = squashfs_compressor(example)
    ctx.image = os.path.join(ctx.work, "app.sqsh")
    subprocess.run(["mksquashfs", root, ctx.image, "-noappend", "-all-root", "-comp", comp, "-quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)
    return comp


def squashfs_compressor(image):
    out = subprocess.run(["unsquashfs", "-s", image], capture_output=True, text=True).stdout
    m = re.search(r"^Compression (\w+)", out, re.M)
    return m.group(1) if m else "gzip"


def make_ch_storage_dir(ctx):
    """Charliecloud's storage dir: concurrent first ch-runs race on its mkdir
    ("can't mkdir: /var/tmp/USER.ch: File exists"), so make it beforehand."""
    ch = f"/var/tmp/{ctx.user}.ch"
    os.makedirs(os.path.join(ch, "mnt"), exist_ok=True)
    # Also when it exists: one made by root (an earlier run) is unreadable to
    # the user, and every ch-run then fails with "can't stat: .../img/...".
    for p in (ch, os.path.join(ch, "mnt")):
        st = os.lstat(p)
        if not stat.S_ISDIR(st.st_mode):
            raise SystemExit(f"bench: {p} is not a directory (a symlink?): remove it and run again")
        if (st.st_uid, st.st_gid) != (ctx.pw.pw_uid, ctx.pw.pw_gid):
            os.chown(p, ctx.pw.pw_uid, ctx.pw.pw_gid, follow_symlinks=False)
        os.chmod(p, 0o700)


def cleanup(ctx):
    """Cancels this run's jobs, removes its ch-run --join segments and (unless --keep) the staging dir."""
    if not ctx.work:
        return
    jobs = ctx.sl("squeue", "-h", "-u", ctx.user, "-n", ctx.job_name, "-o", "%i").stdout.split()
    if jobs:
        ctx.sl("scancel", "-u", ctx.user, "-n", ctx.job_name)
        for _ in range(60):
            if not ctx.sl("squeue", "-h", "-u", ctx.user, "-n", ctx.job_name, "-o", "%i").stdout.split():
                break
            time.sleep(0.5)
    # The named storm's records (n-JOB.storm in the user's runtime dir) outlive
    # their jobs until the user's next hpclaunch command; `ps` sweeps them, so
    # the next run or test starts from an empty runtime dir.
    subprocess.run(ctx.as_user([os.path.join(ctx.work, "bin", "hpclaunch"), "ps"]), capture_output=True, timeout=60)
    # ch-run --join leaves /dev/shm/ch-run_shm-TAG and sem.ch-run_sem-TAG on
    # the nodes when its first rank dies; remove those of our tags.
    for _, pid in cluster.node_holders():
        subprocess.run(["nsenter", "-t", pid, "-m", "sh", "-c",
                        f"rm -f /dev/shm/ch-run_shm-{ctx.tag_prefix}* /dev/shm/sem.ch-run_sem-{ctx.tag_prefix}*"],
                       capture_output=True)
    if ctx.args.keep:
        log(f"staging dir kept: {ctx.work}")
    else:
        shutil.rmtree(ctx.work, ignore_errors=True)
