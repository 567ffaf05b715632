#!/usr/bin/env python3
"""The benchmarks behind bench/run (run as root; every job runs as the test user).

bench/run has installed the packages, checked the build and brought the test
cluster up. This script stages binaries and images in a fresh /tmp dir the
test user can read, runs the parts within the time budget, writes CSV, PNG
plots and summary.md, and removes what it made (jobs, staging dir, Charliecloud
--join shared-memory segments of its own tags).

Parts (see bench/README.md): launch, pingpong, storm, metadata, holder.
Python 3 standard library only.
"""
import argparse
import datetime
import glob
import json
import math
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402

LIB = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(LIB))
TC_DIR = os.environ.get("HPCL_TESTCLUSTER_DIR", "/var/lib/hpclaunch-testcluster")
PARTS = ["launch", "pingpong", "storm", "metadata", "holder"]
# Shares of the time left when a part starts (time a part leaves unused rolls on).
SHARES = {"launch": 0.45, "pingpong": 0.12, "storm": 0.25, "metadata": 0.10, "holder": 0.08}
RESERVE_S = 20  # plots, summary, cleanup
MODES = ["bare", "hpclaunch", "exec", "chrun", "join"]
MODE_COLOR = {"bare": "#000000", "hpclaunch": "#0072B2", "exec": "#56B4E9", "chrun": "#E69F00", "join": "#D55E00"}
MODE_TITLE = {
    "bare": "bare srun",
    "hpclaunch": "hpclaunch",
    "exec": "hpclaunch exec (companion)",
    "chrun": "srun ch-run (per rank)",
    "join": "srun ch-run --join",
}
# Per-rank ch-run pingpong hangs at some size above 1 MiB (2-4 MiB here): after a
# hang the curve is measured up to this size.
FALLBACK_MAX, FALLBACK_BYTES = "1M", 1 << 20
CMA = {"OMPI_MCA_btl_vader_single_copy_mechanism": "cma"}
STAT_RE = re.compile(r"^(stat|lstat|fstat|newfstatat|fstatat64|statx|stat64|lstat64|fstat64|oldstat|oldlstat|oldfstat)$")
OPEN_RE = re.compile(r"^(open|openat|openat2|creat|open_by_handle_at)$")

# Launch priors (seconds on an idle machine): a + b * tasks^p per prog and mode.
LAUNCH_PRIORS = {
    "true": {"bare": [0.25, 0.003, 1], "hpclaunch": [0.45, 0.006, 1], "exec": [0.3, 0.006, 1],
             "chrun": [0.3, 0.012, 1], "join": [0.35, 0.015, 1]},
    # MPI_Init is CPU-bound on 2 cores: 128 ranks took 42 s bare.
    "hello": {"bare": [0.8, 2.27e-4, 2.5], "hpclaunch": [1.0, 2.7e-4, 2.5], "exec": [1.0, 2.7e-4, 2.5],
              "chrun": [1.0, 2.7e-4, 2.5], "join": [1.0, 2.7e-4, 2.5]},
}
STORM_PRIORS = {
    "warm": {"bare": [0.8, 0.03, 1], "hpclaunch": [1.0, 0.05, 1], "chrun": [1.0, 0.09, 1], "join": [1.0, 0.06, 1]},
    "cold": {"bare": [1.5, 0.04, 1], "hpclaunch": [1.8, 0.07, 1], "chrun": [1.8, 0.12, 1], "join": [1.8, 0.08, 1]},
}


T0 = time.time()


def log(msg):
    print(f"bench: [{time.time() - T0:5.0f} s] {msg}", flush=True)


def median(values):
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.t0 = time.time()
        self.deadline = self.t0 + args.budget * 60 - RESERVE_S
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.parts = args.parts.split(",") if args.parts else PARTS
        self.skipped = []  # (part, what, why)
        self.notes = []
        self.results = {}  # filled by the parts for the summary
        self.load_start = os.getloadavg()
        self.env = self.cluster_env()
        self.user = self.env.get("HPCL_TESTCLUSTER_USER", "hltest")
        self.pw = pwd.getpwnam(self.user)
        self.nodes = int(self.env.get("HPCL_TESTCLUSTER_NODES", "4"))
        self.timeout = 60 if self.quick else 120
        # Single-node parts run every mode on the same node: the last one, which
        # other users' -N1 jobs reach last.
        self.one_node = f"node{self.nodes}"

    # -- environment ---------------------------------------------------------
    def cluster_env(self):
        env_file = os.path.join(TC_DIR, "env")
        out = subprocess.run(["bash", "-c", f"set -a; source {env_file}; env -0"], check=True,
                             capture_output=True).stdout.decode()
        env = {}
        for item in out.split("\0"):
            k, _, v = item.partition("=")
            if k.startswith(("SLURM_CONF", "HPCL_TESTCLUSTER_", "OMPI_MCA_")):
                env[k] = v
        if "SLURM_CONF" not in env:
            sys.exit(f"bench: {env_file} does not set SLURM_CONF; is the test cluster up?")
        return env

    def user_env(self, extra=None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.pw.pw_dir, "USER": self.user,
               "LOGNAME": self.user, "LANG": "C.UTF-8"}
        env.update({k: v for k, v in self.env.items() if k == "SLURM_CONF" or k.startswith("OMPI_MCA_")})
        env["OMPI_MCA_mpi_yield_when_idle"] = "1"  # every mode alike
        env.update(extra or {})
        return env

    def as_user(self, argv, extra_env=None):
        env = self.user_env(extra_env)
        return ["runuser", "-u", self.user, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + argv

    def trial(self, argv, timeout, log_name, extra_env=None):
        # No trial runs far past the whole budget (a hang is cut short).
        timeout = min(timeout, max(15, self.deadline + RESERVE_S - 5 - time.time()))
        path = os.path.join(self.work, "logs", log_name)
        return runner.run_trial(self.as_user(argv, extra_env), timeout, path, cwd=self.work) + (path,)

    def left(self):
        return self.deadline - time.time()

    def sl(self, *argv):
        return subprocess.run(list(argv), env=dict(os.environ, SLURM_CONF=self.env["SLURM_CONF"]),
                              capture_output=True, text=True)

    # -- staging -------------------------------------------------------------
    def stage(self):
        build = os.path.join(REPO, "build")
        self.work = tempfile.mkdtemp(prefix="hlbench.", dir="/tmp")
        os.chmod(self.work, 0o755)
        self.job_name = "hlbench-" + os.path.basename(self.work).split(".")[-1]
        self.tag_prefix = "hlb" + os.path.basename(self.work).split(".")[-1] + "-"
        w = self.work
        for d in ("bin", "logs", "plans", "trace"):
            os.makedirs(os.path.join(w, d))
        for f in ("hpclaunch", "hpclaunch-node", "hpclaunch-join", "hpclaunch-import"):
            shutil.copy2(os.path.join(build, f), os.path.join(w, "bin", f))
        for f in ("hello", "pingpong"):
            shutil.copy2(os.path.join(build, "examples", f), os.path.join(w, "bin", f))
        shutil.copy2(os.path.join(LIB, "runner.py"), os.path.join(w, "runner.py"))
        with open(os.path.join(w, "bin", "tracewrap"), "w") as f:
            f.write('#!/bin/sh\n# tracewrap DIR PROGRAM ARGS...: strace -f -ff PROGRAM, one file per process in DIR\n'
                    'd=$1; shift\n'
                    'exec strace -f -ff -y -qq -e trace=%file,%stat '
                    '-o "$d/$(hostname).${SLURM_STEP_ID:-x}.${SLURM_PROCID:-x}" "$@"\n')
        os.chmod(os.path.join(w, "bin", "tracewrap"), 0o755)
        # Bind targets ch-run needs in the image (it cannot create them in a
        # read-only SquashFS): the PMIx client dir base and the slurmd spool
        # dirs (PMIx server dirs). hpclaunch and ch-run run the same image.
        self.nodelocal = self.conf_value("mpi.conf", "PMIxCliTmpDirBase") or "/tmp"
        spool = self.conf_value("slurm.conf", "SlurmdSpoolDir") or "/var/spool/slurmd"
        # SlurmdSpoolDir=/x/spool/%n: bind /x/spool (every node's spool dir lies in it)
        self.spool_parent = spool
        if "%" in spool:
            head = spool[:spool.index("%")]
            self.spool_parent = head.rstrip("/") if head.endswith("/") else os.path.dirname(head)
        self.ch_binds = []
        for d in (self.nodelocal, self.spool_parent):
            if d not in ("/tmp",):
                self.ch_binds += ["-b", d]
        root = os.path.join(w, "approot")
        example = os.path.join(build, "examples", "solver.sqsh")
        subprocess.run(["unsquashfs", "-q", "-n", "-d", root, example], check=True, stdout=subprocess.DEVNULL)
        for d in (self.nodelocal, self.spool_parent):
            os.makedirs(root + d, exist_ok=True)
        comp = self.squashfs_compressor(example)
        self.image = os.path.join(w, "app.sqsh")
        subprocess.run(["mksquashfs", root, self.image, "-noappend", "-all-root", "-comp", comp, "-quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(root)
        # Charliecloud's storage dir: concurrent first ch-runs race on its mkdir
        # ("can't mkdir: /var/tmp/USER.ch: File exists"), so make it beforehand.
        ch = f"/var/tmp/{self.user}.ch"
        if not os.path.isdir(os.path.join(ch, "mnt")):
            os.makedirs(os.path.join(ch, "mnt"), exist_ok=True)
            for p in (ch, os.path.join(ch, "mnt")):
                os.chown(p, self.pw.pw_uid, self.pw.pw_gid)
                os.chmod(p, 0o700)
        subprocess.run(["chown", "-R", f"{self.user}:", w], check=True)
        log(f"staged in {w} (image {os.path.getsize(self.image) // 1024} KiB, {comp})")

    def conf_value(self, conf, key):
        path = os.path.join(os.path.dirname(self.env["SLURM_CONF"]), conf)
        try:
            for line in open(path):
                k, _, v = line.strip().partition("=")
                if k.strip().lower() == key.lower():
                    return v.strip()
        except OSError:
            pass
        return None

    @staticmethod
    def squashfs_compressor(image):
        out = subprocess.run(["unsquashfs", "-s", image], capture_output=True, text=True).stdout
        m = re.search(r"^Compression (\w+)", out, re.M)
        return m.group(1) if m else "gzip"

    def make_storm(self):
        count = self.storm_count
        d = os.path.join(self.work, "storm")
        subprocess.run([os.path.join(REPO, "bench", "storm", "make-storm-image"), d, str(count)], check=True)
        tree = os.path.join(d, "tree")
        # What ch-run needs in an image: /etc/{hosts,resolv.conf,passwd,group}
        # and the bind targets; rebuilt with make-storm-image's options.
        for f in ("hosts", "resolv.conf", "passwd", "group"):
            target = os.path.join(tree, "etc", f)
            if not os.path.exists(target):
                shutil.copy2(os.path.join("/etc", f), target)
        for dd in (self.nodelocal, self.spool_parent):
            os.makedirs(tree + dd, exist_ok=True)
        self.storm_image = os.path.join(d, "storm.sqsh")
        subprocess.run(["mksquashfs", tree, self.storm_image, "-noappend", "-all-root", "-comp", "zstd", "-quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        self.storm_tree = tree
        subprocess.run(["chown", "-R", f"{self.user}:", d], check=True)

    # -- cleanup -------------------------------------------------------------
    def cleanup(self):
        if not getattr(self, "work", None):
            return
        jobs = self.sl("squeue", "-h", "-u", self.user, "-n", self.job_name, "-o", "%i").stdout.split()
        if jobs:
            self.sl("scancel", "-u", self.user, "-n", self.job_name)
            for _ in range(60):
                if not self.sl("squeue", "-h", "-u", self.user, "-n", self.job_name, "-o", "%i").stdout.split():
                    break
                time.sleep(0.5)
        # ch-run --join leaves /dev/shm/ch-run_shm-TAG and sem.ch-run_sem-TAG on
        # the nodes when its first rank dies; remove those of our tags.
        for pidfile in glob.glob(os.path.join(TC_DIR, "run", "holder.node*.pid")):
            try:
                pid = open(pidfile).read().split()[0]
            except (OSError, IndexError):
                continue
            subprocess.run(["nsenter", "-t", pid, "-m", "sh", "-c",
                            f"rm -f /dev/shm/ch-run_shm-{self.tag_prefix}* /dev/shm/sem.ch-run_sem-{self.tag_prefix}*"],
                           capture_output=True)
        if self.args.keep:
            log(f"staging dir kept: {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def keep_log(self, path):
        """Copies (the tail of) a failed trial's log into OUT/logs."""
        dest = os.path.join(self.out, "logs")
        os.makedirs(dest, exist_ok=True)
        if len(os.listdir(dest)) >= 60:
            return
        try:
            data = open(path, "rb").read()[-20000:]
            open(os.path.join(dest, os.path.basename(path)), "wb").write(data)
        except OSError:
            pass

    # -- part 1: launch scaling ----------------------------------------------
    def launch_modes(self, prog, nodes, tasks):
        w, img = self.work, self.image
        over = ["-O"] if tasks > 64 * nodes else []
        # Same spread for every mode (an allocation's own spread may be 15+1).
        per_node = f"--ntasks-per-node={tasks // nodes}"
        srun = ["srun", "-N", str(nodes), "-n", str(tasks), per_node] + over
        host, inside, absolute = {"true": ("/bin/true", "true", "/usr/bin/true"),
                                  "hello": (f"{w}/bin/hello", "hello", "/usr/local/bin/hello")}[prog]
        return [
            ["bare", srun + [host]],
            ["hpclaunch", [f"{w}/bin/hpclaunch", "-N", str(nodes), "-n", str(tasks), per_node, "--image", img,
                           inside]],
            ["exec", srun + [f"{w}/bin/hpclaunch", "exec", "--image", img, inside]],
            ["chrun", srun + ["ch-run"] + self.ch_binds + [img, "--", absolute]],
            ["join", srun + ["ch-run", "--join-tag=@TAG@"] + self.ch_binds + [img, "--", absolute]],
        ]

    def part_launch(self, deadline):
        runs = 3 if self.quick else 5
        est = runner.Estimator(LAUNCH_PRIORS)
        if self.quick:  # the cases of the targets first
            wanted = [("true", 2, 16), ("hello", 2, 16), ("true", 2, 256), ("true", 4, 16)]
        else:  # cheapest first
            wanted = [(p, n, t) for n in (2, 4) for p, ts in (("true", (16, 64, 128, 256, 512)),
                                                                ("hello", (16, 64, 128))) for t in ts]
            wanted.sort(key=lambda c: sum(est.prior(c[0], m, c[2]) for m in MODES))
        csv = os.path.join(self.work, "launch.csv")
        for prog, nodes, tasks in wanted:
            if nodes > self.nodes:
                self.skipped.append(("launch", f"{prog} N={nodes} n={tasks}", f"the cluster has {self.nodes} nodes"))
                continue
            case = {"prog": prog, "nodes": nodes, "tasks": tasks, "modes": self.launch_modes(prog, nodes, tasks)}
            if prog == "hello":
                case["expect_regex"], case["expect_count"] = r"^hello rank=", tasks
            plan = {"cases": [case], "runs": runs, "min_runs": runs, "timeout": self.timeout,
                    "deadline": deadline, "logdir": os.path.join(self.work, "logs"), "csv": csv,
                    "tag_prefix": self.tag_prefix + f"{prog}{nodes}x{tasks}-", "priors": LAUNCH_PRIORS,
                    "scale": est.scale}
            # The runner decides inside the allocation; skip here what cannot fit at all.
            need = runs * sum(min(est.predict(prog, m, tasks), self.timeout) for m in MODES)
            if need > deadline - time.time():
                why = f"estimated {need:.0f} s for {runs} runs, {max(deadline - time.time(), 0):.0f} s left"
                self.skipped.append(("launch", f"{prog} N={nodes} n={tasks}", why))
                log(f"skip launch {prog} N={nodes} n={tasks}: {why}")
                continue
            plan_path = os.path.join(self.work, "plans", f"launch-{prog}-{nodes}-{tasks}.json")
            with open(plan_path, "w") as f:
                json.dump(plan, f)
            os.chmod(plan_path, 0o644)
            minutes = max(2, math.ceil((deadline - time.time()) / 60) + 2)
            argv = ["salloc", "-J", self.job_name, "-N", str(nodes), "-n", str(tasks), "-O", "-t", str(minutes),
                    "/usr/bin/python3", os.path.join(self.work, "runner.py"), plan_path]
            _, rc, status, path = self.trial(argv, deadline - time.time() + 3 * self.timeout + 30,
                                             f"launch-runner-{prog}-{nodes}-{tasks}.log")
            out = open(path, errors="replace").read()
            for line in out.splitlines():
                if line.startswith("bench: "):
                    print(line, flush=True)
            if status != "ok":
                self.notes.append(f"launch {prog} N={nodes} n={tasks}: the allocation's runner ended with {status} "
                                  f"(rc {rc}); see logs/")
                self.keep_log(path)
            # learn from what the runner measured, for the next cases' estimates
            rows = [r for r in self.read_csv(csv) if r["prog"] == prog and r["nodes"] == str(nodes)
                    and r["tasks"] == str(tasks)]
            ratios = []
            for m in MODES:
                ts = [float(r["seconds"]) for r in rows if r["mode"] == m and r["status"] == "ok"]
                if ts:
                    est.learn(prog, m, tasks, median(ts))
                    ratios.append(est.scale[f"{prog}|{m}"])
            if ratios:
                est.scale["*"] = median(ratios)
            for r in rows:
                if r["status"] == "skipped":
                    self.skipped.append(("launch", f"{prog} N={nodes} n={tasks}", r["note"]))
                elif r["status"] in ("fail", "timeout"):
                    self.keep_log(os.path.join(self.work, "logs", f"{prog}.N{nodes}.n{tasks}.{r['mode']}.{r['run']}.log"))
        if os.path.exists(csv):
            shutil.copy2(csv, os.path.join(self.out, "launch.csv"))
            self.summarize_launch(self.read_csv(csv))

    @staticmethod
    def read_csv(path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            lines = f.read().splitlines()
        if not lines:
            return []
        keys = lines[0].split(",")
        rows = []
        for line in lines[1:]:
            vals = line.split(",", len(keys) - 1)
            vals += [""] * (len(keys) - len(vals))
            rows.append(dict(zip(keys, vals)))
        return rows

    def summarize_launch(self, rows):
        table = {}  # (prog, nodes, tasks, mode) -> dict
        for r in rows:
            if r["mode"] == "all":
                continue
            key = (r["prog"], int(r["nodes"]), int(r["tasks"]), r["mode"])
            e = table.setdefault(key, {"ok": [], "fail": 0, "timeout": 0})
            if r["status"] == "ok":
                e["ok"].append(float(r["seconds"]))
            elif r["status"] in ("fail", "timeout"):
                e[r["status"]] += 1
        summary_rows = []
        for key in sorted(table):
            e = table[key]
            e["median"] = median(e["ok"])
            summary_rows.append(key + (len(e["ok"]) + e["fail"] + e["timeout"], e["fail"], e["timeout"], e["median"]))
        with open(os.path.join(self.out, "launch_summary.csv"), "w") as f:
            f.write("prog,nodes,tasks,mode,runs,failed,timeouts,median_s,ratio_to_bare\n")
            for prog, nodes, tasks, mode, runs, fail, tmo, med in summary_rows:
                bare = table.get((prog, nodes, tasks, "bare"), {}).get("median")
                ratio = med / bare if med and bare else None
                f.write(f"{prog},{nodes},{tasks},{mode},{runs},{fail},{tmo},{fmt(med, 4)},{fmt(ratio, 3)}\n")
        self.results["launch"] = table
        # plot data
        pd = os.path.join(self.out, "plotdata")
        os.makedirs(pd, exist_ok=True)
        for prog in ("true", "hello"):
            for nodes in (2, 4):
                files, titles = [], []
                for mode in MODES:
                    pts = sorted((k[2], v["median"]) for k, v in table.items()
                                 if k[0] == prog and k[1] == nodes and k[3] == mode and v["median"])
                    if not pts:
                        continue
                    path = os.path.join(pd, f"launch_{prog}_N{nodes}_{mode}.dat")
                    with open(path, "w") as f:
                        f.write("# tasks median_seconds\n" + "".join(f"{t} {s:.4f}\n" for t, s in pts))
                    files.append(path)
                    titles.append(MODE_TITLE[mode].replace(" ", "_"))
                if files:
                    what = "/bin/true tasks" if prog == "true" else "MPI hello ranks"
                    self.plot(f"launch_{prog}_N{nodes}.png", f"Launch wall time, {what} on {nodes} nodes (median)",
                              "tasks" if prog == "true" else "ranks", "seconds", files, titles, logx=1, logy=1)

    # -- part 2: pingpong ----------------------------------------------------
    def part_pingpong(self, deadline):
        runs = 1 if self.quick else 3
        tps = "0.05" if self.quick else "0.2"
        timeout = 20 if self.quick else 60
        w, img = self.work, self.image
        pp = ["--time-per-size", tps]
        srun = ["srun", "-J", self.job_name, "-w", self.one_node, "-N1", "-n2"]
        modes = [
            ("bare", lambda a: srun + [f"{w}/bin/pingpong"] + a, CMA),
            ("hpclaunch", lambda a: ["salloc", "-J", self.job_name, "-w", self.one_node, "-N1", "-n2", f"{w}/bin/hpclaunch", "-n", "2",
                                     "--image", img, "pingpong"] + a, CMA),
            ("exec", lambda a: srun + [f"{w}/bin/hpclaunch", "exec", "--image", img, "pingpong"] + a, CMA),
            # Per-rank containers are separate user namespaces: CMA cannot be
            # used (forcing it fails the job), so Open MPI's default applies.
            ("chrun", lambda a: srun + ["ch-run"] + self.ch_binds + [img, "--", "/usr/local/bin/pingpong"] + a, {}),
            ("join", lambda a: srun + ["ch-run", f"--join-tag={self.tag_prefix}pp@RUN@"] + self.ch_binds +
             [img, "--", "/usr/local/bin/pingpong"] + a, CMA),
        ]
        est = {m: (4.0 if self.quick else 9.0) for m, _, _ in modes}
        line_re = re.compile(r"^pingpong size=(\d+) iters=(\d+) latency_us=([\d.]+) bandwidth_MBps=([\d.]+)")
        rows, runs_rows = [], []
        hung = set()
        for run in range(1, runs + 1):
            if sum(est.values()) > deadline - time.time():
                self.skipped.append(("pingpong", f"runs {run}..{runs}", f"{deadline - time.time():.0f} s left"))
                break
            for mode, build, env in modes:
                tries = [None] if mode not in hung else [FALLBACK_MAX]
                i = 0
                while i < len(tries):
                    max_size = tries[i]
                    i += 1
                    args = pp + (["--max-size", max_size] if max_size else [])
                    argv = [a.replace("@RUN@", f"{run}{i}") for a in build(args)]
                    secs, rc, status, path = self.trial(argv, timeout, f"pingpong.{mode}.{run}.{max_size or 'full'}.log",
                                                        env)
                    pts = []
                    for line in open(path, errors="replace"):
                        m = line_re.match(line)
                        if m:
                            pts.append(m.groups())
                    want = FALLBACK_BYTES if max_size else 64 << 20
                    note = "" if not max_size else f"--max-size {FALLBACK_MAX} (the full range hung)"
                    if status == "ok" and (not pts or int(pts[-1][0]) != want):
                        status, note = "fail", f"no result for {want} bytes"
                    if status == "timeout":
                        note = f"hung: no exit after {timeout} s (last size printed: none, output is block-buffered)"
                        if mode not in hung and not max_size:
                            hung.add(mode)
                            tries.append(FALLBACK_MAX)  # the curve up to there
                    if status == "ok":
                        est[mode] = secs * 1.2
                        for size, iters, lat, bw in pts:
                            rows.append((mode, run, int(size), int(iters), float(lat), float(bw)))
                    else:
                        self.keep_log(path)
                    runs_rows.append((mode, run, max_size or "64M", f"{secs:.2f}", status, rc, note))
                    log(f"pingpong {mode} run {run}{' ' + max_size if max_size else ''}: {status}"
                        f"{' ' + pts[-1][3] + ' MB/s at ' + pts[-1][0] + ' B' if pts and status == 'ok' else ''}")
        with open(os.path.join(self.out, "pingpong.csv"), "w") as f:
            f.write("mode,run,size_bytes,iters,latency_us,bandwidth_MBps\n")
            for r in rows:
                f.write(",".join(map(str, r)) + "\n")
        with open(os.path.join(self.out, "pingpong_runs.csv"), "w") as f:
            f.write("mode,run,max_size,seconds,status,rc,note\n")
            for r in runs_rows:
                f.write(",".join(map(str, r)) + "\n")
        per = {}  # mode -> size -> [bw], [lat]
        for mode, run, size, iters, lat, bw in rows:
            e = per.setdefault(mode, {}).setdefault(size, ([], []))
            e[0].append(bw)
            e[1].append(lat)
        self.results["pingpong"] = {"per": per, "runs": runs_rows}
        pd = os.path.join(self.out, "plotdata")
        os.makedirs(pd, exist_ok=True)
        for what, idx, ylab, logy in (("bandwidth", 0, "MB/s (1e6 B/s)", 1), ("latency", 1, "one-way latency (us)", 1)):
            files, titles = [], []
            for mode in MODES:
                if mode not in per:
                    continue
                path = os.path.join(pd, f"pingpong_{what}_{mode}.dat")
                with open(path, "w") as f:
                    f.write(f"# size_bytes median_{what}\n")
                    for size in sorted(per[mode]):
                        f.write(f"{size} {median(per[mode][size][idx]):.3f}\n")
                files.append(path)
                titles.append(MODE_TITLE[mode].replace(" ", "_"))
            if files:
                self.plot(f"pingpong_{what}.png", f"Pingpong {what}, 2 ranks on one node (CMA forced where it works)",
                          "message size", ylab, files, titles, logx=1, logy=logy, xbin=1)

    # -- part 3: import storm ------------------------------------------------
    def drop_caches(self):
        subprocess.run(["sync"])
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")

    def storm_modes(self, ranks):
        w, img, n = self.work, self.storm_image, str(self.storm_count)
        srun = ["srun", "-J", self.job_name, "-w", self.one_node, "-N1", "-n", str(ranks)]
        return [
            ("bare", srun + [f"{self.storm_tree}/usr/local/bin/storm", f"{self.storm_tree}/libs", n]),
            ("hpclaunch", ["salloc", "-J", self.job_name, "-w", self.one_node, "-N1", "-n", str(ranks), f"{w}/bin/hpclaunch", "-n",
                           str(ranks), "--image", img, "storm", "/libs", n]),
            ("chrun", srun + ["ch-run"] + self.ch_binds + [img, "--", "/usr/local/bin/storm", "/libs", n]),
            ("join", srun + ["ch-run", "--join-tag=@TAG@"] + self.ch_binds + [img, "--", "/usr/local/bin/storm",
                                                                             "/libs", n]),
        ]

    def part_storm(self, deadline):
        self.storm_count = 1000
        self.make_storm()
        runs = 2 if self.quick else 5
        ranks_list = [32, 1] if self.quick else [32, 1, 16, 4]
        est = runner.Estimator(STORM_PRIORS)
        line_re = re.compile(r"^storm rank=(\d+) libs=(\d+) seconds=([\d.]+)")
        rows, runs_rows = [], []
        tag = [0]

        def one(cache, ranks, mode, argv, run, label=None):
            tag[0] += 1
            argv = [a.replace("@TAG@", f"{self.tag_prefix}st{tag[0]}") for a in argv]
            if cache == "cold":
                self.drop_caches()
            secs, rc, status, path = self.trial(argv, self.timeout, f"storm.{cache}.{ranks}.{mode}.{label or run}.log")
            vals = []
            for line in open(path, errors="replace"):
                m = line_re.match(line)
                if m:
                    vals.append((int(m.group(1)), float(m.group(3))))
            note = ""
            if status == "ok" and len(vals) != ranks:
                status, note = "fail", f"{len(vals)} of {ranks} ranks reported"
            elif status == "fail":
                note = f"{len(vals)} of {ranks} ranks reported"
            if status != "ok":
                self.keep_log(path)
            return secs, rc, status, note, vals, path

        def warm_up():  # the page cache holds the tree and the image before warm runs
            for mode, argv in self.storm_modes(1):
                one("warm", 1, mode, argv, 0, "warmup")

        def group(cache, ranks):
            modes = self.storm_modes(ranks)
            need = runs * sum(est.predict(cache, m, ranks) for m, _ in modes)
            if need > deadline - time.time():
                why = f"estimated {need:.0f} s, {max(deadline - time.time(), 0):.0f} s left"
                self.skipped.append(("storm", f"{cache} {ranks} ranks", why))
                log(f"skip storm {cache} {ranks} ranks: {why}")
                return
            walls = {m: [] for m, _ in modes}
            for run in range(1, runs + 1):
                for mode, argv in modes:
                    secs, rc, status, note, vals, _ = one(cache, ranks, mode, argv, run)
                    runs_rows.append((cache, ranks, mode, run, f"{secs:.3f}", status, rc, note))
                    if status == "ok":
                        walls[mode].append(secs)
                    for rank, s in vals:
                        rows.append((cache, ranks, mode, run, status, rank, s))
            for m, v in walls.items():
                if v:
                    est.learn(cache, m, ranks, median(v))
            means = self.storm_means(rows, cache, ranks)
            log(f"storm {cache} {ranks} ranks: " + " ".join(f"{m}={fmt(means.get(m))}" for m, _ in modes))

        def extra_runs():
            # FUSE request counts (hpclaunch -v) and where a rank's time goes (strace -c)
            if deadline - time.time() > 3 * est.predict("warm", "hpclaunch", top) + 10:
                argv = ["salloc", "-J", self.job_name, "-w", self.one_node, "-N1", "-n", str(top), f"{self.work}/bin/hpclaunch", "-v", "-n",
                        str(top), "--image", self.storm_image, "storm", "/libs", str(self.storm_count)]
                secs, rc, status, path = self.trial(argv, self.timeout, f"storm.fuse.{top}.log")
                counts = [line.split("FUSE requests served:", 1)[1].strip()
                          for line in open(path, errors="replace") if "FUSE requests served:" in line]
                extras["fuse"] = counts
                extras["fuse_status"] = status
                shutil.copy2(path, os.path.join(self.out, f"storm_hpclaunch_verbose_{top}.log"))
                # strace -c of one rank: bare, and hpclaunch companion mode (the traced
                # task starts 1 s late so that another task starts the node's holder
                # and the profile is the rank's alone).
                n = str(self.storm_count)
                for mode, prog in (("bare", [f"{self.storm_tree}/usr/local/bin/storm", f"{self.storm_tree}/libs", n]),
                                   ("hpclaunch", [f"{self.work}/bin/hpclaunch", "exec", "--image", self.storm_image,
                                                  "storm", "/libs", n])):
                    prof = os.path.join(self.work, "trace", f"storm_strace_{mode}.txt")
                    script = ('if [ "$SLURM_PROCID" = 0 ]; then sleep 1; exec strace -c -f -o "$0" "$@"; '
                              'else exec "$@"; fi')
                    argv = ["srun", "-J", self.job_name, "-w", self.one_node, "-N1", "-n", str(top), "sh", "-c", script, prof] + prog
                    secs, rc, status, path = self.trial(argv, self.timeout, f"storm.strace.{mode}.log")
                    if os.path.exists(prof):
                        shutil.copy2(prof, os.path.join(self.out, f"storm_strace_{mode}.txt"))
                        extras[f"strace_{mode}"] = self.strace_top(prof)
                        m = [v for v in (line_re.match(line) for line in open(path, errors="replace")) if v]
                        extras[f"strace_{mode}_rank0"] = next((float(x.group(3)) for x in m if x.group(1) == "0"), None)
            else:
                self.skipped.append(("storm", "FUSE counts and strace -c", "no time left"))

        # Priority order: the target cases (most ranks, warm then cold) and the
        # FUSE counts and strace profiles first, then the other rank counts
        # (warmed up again after the cold runs).
        top = max(ranks_list)
        extras = {}
        warm_up()
        group("warm", top)
        extra_runs()
        group("cold", top)
        rest = [r for r in ranks_list if r != top]
        if rest and deadline - time.time() > 10:
            warm_up()
        for cache in ("warm", "cold"):
            for ranks in rest:
                group(cache, ranks)
        with open(os.path.join(self.out, "storm.csv"), "w") as f:
            f.write("cache,ranks,mode,run,status,rank,seconds\n")
            for r in rows:
                f.write(",".join(map(str, r)) + "\n")
        with open(os.path.join(self.out, "storm_runs.csv"), "w") as f:
            f.write("cache,ranks,mode,run,wall_seconds,status,rc,note\n")
            for r in runs_rows:
                f.write(",".join(map(str, r)) + "\n")
        table = {}
        for cache in ("warm", "cold"):
            for ranks in ranks_list:
                means = self.storm_means(rows, cache, ranks)
                fails = {}
                for r in runs_rows:
                    if r[0] == cache and r[1] == ranks and r[5] != "ok":
                        fails[r[2]] = fails.get(r[2], 0) + 1
                for m in ("bare", "hpclaunch", "chrun", "join"):
                    if m in means or m in fails:
                        table[(cache, ranks, m)] = {"mean": means.get(m), "fail": fails.get(m, 0),
                                                    "runs": sum(1 for r in runs_rows if r[:3] == (cache, ranks, m))}
        self.results["storm"] = {"table": table, "extras": extras}
        pd = os.path.join(self.out, "plotdata")
        os.makedirs(pd, exist_ok=True)
        for cache in ("warm", "cold"):
            files, titles = [], []
            for m in ("bare", "hpclaunch", "chrun", "join"):
                pts = sorted((k[1], v["mean"]) for k, v in table.items() if k[0] == cache and k[2] == m and v["mean"])
                if not pts:
                    continue
                path = os.path.join(pd, f"storm_{cache}_{m}.dat")
                with open(path, "w") as f:
                    f.write("# ranks seconds_per_rank\n" + "".join(f"{r} {s:.4f}\n" for r, s in pts))
                files.append(path)
                titles.append(MODE_TITLE[m].replace(" ", "_").replace("srun_", "") if m != "bare" else "bare_(host_FS)")
            if files:
                self.plot(f"storm_{cache}.png", f"Import storm: {self.storm_count} dlopen per rank, one node, {cache} cache",
                          "ranks on the node", "seconds per rank (median of runs, mean over ranks)", files, titles,
                          logx=1, logy=0)

    @staticmethod
    def storm_means(rows, cache, ranks):
        per_run = {}
        for c, r, mode, run, status, rank, s in rows:
            if c == cache and r == ranks and status == "ok":
                per_run.setdefault(mode, {}).setdefault(run, []).append(s)
        return {m: median([statistics.mean(v) for v in runs.values()]) for m, runs in per_run.items()}

    @staticmethod
    def strace_top(path, n=6):
        lines = open(path, errors="replace").read().splitlines()
        out = []
        for line in lines:
            parts = line.split()
            if len(parts) >= 5 and re.match(r"^[\d.]+$", parts[0]) and parts[-1] not in ("total", "syscall"):
                out.append((float(parts[0]), parts[-1], parts[3] if len(parts) >= 6 else parts[3]))
            if line.strip().endswith("total"):
                parts = line.split()
                out.append((100.0, "total", parts[1] if len(parts) > 1 else ""))
        calls = [o for o in out if o[1] != "total"]
        total = [o for o in out if o[1] == "total"]
        return {"top": calls[:n], "total_seconds": total[0][2] if total else ""}

    # -- part 4: image metadata operations -----------------------------------
    def part_metadata(self, deadline):
        w, img = self.work, self.image
        cases = [(n, t) for t in ((16,) if self.quick else (16, 64)) for n in (2, 4)]
        rows = []
        est = 6.0 if self.quick else 10.0
        for nodes, tasks in cases:
            if nodes > self.nodes:
                self.skipped.append(("metadata", f"N={nodes}", f"the cluster has {self.nodes} nodes"))
                continue
            for mode in ("hpclaunch", "exec", "chrun", "join"):
                if est > deadline - time.time():
                    self.skipped.append(("metadata", f"{mode} N={nodes} n={tasks}", "no time left"))
                    continue
                tdir = os.path.join(w, "trace", f"{mode}.{nodes}.{tasks}")
                os.makedirs(tdir)
                os.chown(tdir, self.pw.pw_uid, self.pw.pw_gid)
                wrap = [f"{w}/bin/tracewrap", tdir]
                per_node = f"--ntasks-per-node={tasks // nodes}"
                srun = ["srun", "-J", self.job_name, "-N", str(nodes), "-n", str(tasks), per_node]
                extra = {}
                if mode == "hpclaunch":
                    argv = ["salloc", "-J", self.job_name, "-N", str(nodes), "-n", str(tasks), per_node] + wrap + [
                        f"{w}/bin/hpclaunch", "-N", str(nodes), "-n", str(tasks), per_node, "--image", img, "true"]
                    extra = {"HPCLAUNCH_NODE_STEP_WRAPPER": " ".join(wrap)}
                elif mode == "exec":
                    argv = wrap + srun + wrap + [f"{w}/bin/hpclaunch", "exec", "--image", img, "true"]
                elif mode == "chrun":
                    argv = wrap + srun + wrap + ["ch-run"] + self.ch_binds + [img, "--", "/usr/bin/true"]
                else:
                    argv = wrap + srun + wrap + ["ch-run", f"--join-tag={self.tag_prefix}md{nodes}x{tasks}"] + \
                        self.ch_binds + [img, "--", "/usr/bin/true"]
                secs, rc, status, path = self.trial(argv, 3 * self.timeout, f"metadata.{mode}.{nodes}.{tasks}.log",
                                                    extra)
                est = max(est, secs * 1.2)
                if status != "ok":
                    self.keep_log(path)
                counts = self.count_image_calls(tdir, img)
                rows.append((mode, nodes, tasks, counts["stat"], counts["open"], counts["other"], counts["files"],
                             counts["nodes_stat"], f"{secs:.2f}", status))
                log(f"metadata {mode} N={nodes} n={tasks}: stat={counts['stat']} open={counts['open']} "
                    f"other={counts['other']} ({status})")
        with open(os.path.join(self.out, "metadata.csv"), "w") as f:
            f.write("mode,nodes,tasks,stat_calls,open_calls,other_calls,processes_traced,nodes_that_stat,"
                    "seconds,status\n")
            for r in rows:
                f.write(",".join(map(str, r)) + "\n")
        self.results["metadata"] = rows
        pd = os.path.join(self.out, "plotdata")
        os.makedirs(pd, exist_ok=True)
        files, titles = [], []
        for mode in ("hpclaunch", "exec", "chrun", "join"):
            for nodes in (2, 4):
                pts = sorted((r[2], r[3] + r[4]) for r in rows if r[0] == mode and r[1] == nodes)
                if not pts:
                    continue
                path = os.path.join(pd, f"metadata_{mode}_N{nodes}.dat")
                with open(path, "w") as f:
                    f.write("# tasks stat+open_calls\n" + "".join(f"{t} {max(c, 0.5)}\n" for t, c in pts))
                files.append(path)
                titles.append((MODE_TITLE[mode] + f", {nodes} nodes").replace(" ", "_"))
        if files:
            self.plot("metadata.png", "stat + open calls on the image file per job (all processes)", "tasks",
                      "calls", files, titles, logx=1, logy=1)

    @staticmethod
    def count_image_calls(tdir, img):
        # A call counts when its path argument is the image, or its fd argument
        # is open on it (strace -y); execve argv mentioning it does not count.
        q = re.escape(img)
        by_path = re.compile(r'^(\w+)\((?:AT_FDCWD(?:<[^>]*>)?, |-?\d+(?:<[^>]*>)?, )?"' + q + '"')
        by_fd = re.compile(r'^(\w+)\(\d+<' + q + '>')
        counts = {"stat": 0, "open": 0, "other": 0, "files": 0, "nodes_stat": 0}
        stat_nodes = set()
        for path in glob.glob(os.path.join(tdir, "*")):
            counts["files"] += 1
            node = os.path.basename(path).split(".")[0]
            for line in open(path, errors="replace"):
                m = by_path.match(line) or by_fd.match(line)
                if not m or m.group(1) == "execve":
                    continue
                name = m.group(1)
                if STAT_RE.match(name):
                    counts["stat"] += 1
                    stat_nodes.add(node)
                elif OPEN_RE.match(name):
                    counts["open"] += 1
                else:
                    counts["other"] += 1
        counts["nodes_stat"] = len(stat_nodes)
        return counts

    # -- part 5: holder cost -------------------------------------------------
    def node_of_netns(self):
        m = {}
        for pidfile in glob.glob(os.path.join(TC_DIR, "run", "holder.node*.pid")):
            node = os.path.basename(pidfile).split(".")[1]
            try:
                pid = open(pidfile).read().split()[0]
                m[os.readlink(f"/proc/{pid}/ns/net")] = node
            except (OSError, IndexError):
                pass
        return m

    def sample_holders(self, mode, stop, samples, t_start):
        nets = self.node_of_netns()
        hz = os.sysconf("SC_CLK_TCK")
        prefix = f"{self.work}/bin/hpclaunch"
        while not stop.is_set():
            now = time.time() - t_start
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    if os.stat(f"/proc/{pid}").st_uid != self.pw.pw_uid:
                        continue
                    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
                    if not argv or argv[0].decode(errors="replace") != prefix:
                        continue
                    sub = argv[1].decode(errors="replace") if len(argv) > 1 else ""
                    stat = open(f"/proc/{pid}/stat").read()
                    fields = stat.rsplit(")", 1)[1].split()
                    if fields[0] == "Z":
                        continue
                    ppid = fields[1]
                    if sub == "__holder":
                        role = "holder"
                    elif sub == "__node":
                        role = "node step"
                    elif sub == "exec":
                        parent = open(f"/proc/{ppid}/comm").read().strip() if os.path.exists(f"/proc/{ppid}") else ""
                        if parent == "slurmstepd":
                            continue  # a task that has not exec'd yet
                        role = "daemon holder"
                    elif sub.startswith("-"):
                        role = "front end"
                    else:
                        continue
                    cpu = (int(fields[11]) + int(fields[12])) / hz
                    rss = 0
                    for line in open(f"/proc/{pid}/status"):
                        if line.startswith("VmRSS:"):
                            rss = int(line.split()[1])
                    node = nets.get(os.readlink(f"/proc/{pid}/ns/net"), "host")
                    samples.append((mode, f"{now:.2f}", int(pid), node, role, rss, f"{cpu:.2f}"))
                except (OSError, ValueError, IndexError):
                    continue
            stop.wait(0.5)

    def part_holder(self, deadline):
        w, img = self.work, self.image
        if deadline - time.time() < 30:
            self.skipped.append(("holder", "holder cost", f"{max(deadline - time.time(), 0):.0f} s left"))
            return
        front = ["salloc", "-J", self.job_name, "-N2", "-n16", "--ntasks-per-node=8", f"{w}/bin/hpclaunch", "-n",
                 "16", "--ntasks-per-node", "8", "--image", img, "solver", "--report", "0", "--steps"]
        comp = ["srun", "-J", self.job_name, "-N2", "-n16", "--ntasks-per-node=8", f"{w}/bin/hpclaunch", "exec",
                "--image", img, "solver", "--report", "0", "--steps"]
        # Calibration: solver steps per second now (it varies a lot with the load).
        secs, rc, status, path = self.trial(front + ["100"], 120, "holder.calibrate.log")
        solver_s = self.solver_time(path)
        if status != "ok" or not solver_s:
            self.notes.append(f"holder: the calibration run failed ({status}); see logs/")
            self.keep_log(path)
            return
        per_mode = (deadline - time.time() - 2 * (secs - solver_s)) / 2
        steps = int(min(20000, max(100, 100 / solver_s * per_mode * 0.6)))
        samples, walls = [], {}
        for mode, argv in (("hpclaunch", front + [str(steps)]), ("exec", comp + [str(steps)])):
            if deadline - time.time() < 8:
                self.skipped.append(("holder", mode, "no time left"))
                continue
            stop = threading.Event()
            t_start = time.time()
            th = threading.Thread(target=self.sample_holders, args=(mode, stop, samples, t_start), daemon=True)
            th.start()
            secs, rc, status, path = self.trial(argv, max(60, 3 * (deadline - time.time())), f"holder.{mode}.log")
            stop.set()
            th.join()
            solver = ""
            for line in open(path, errors="replace"):
                if line.startswith("solver:"):
                    solver = line.strip()
            walls[mode] = (secs, status, solver)
            if status != "ok":
                self.keep_log(path)
            log(f"holder {mode}: {steps} steps, {secs:.1f} s, {status}")
        with open(os.path.join(self.out, "holder.csv"), "w") as f:
            f.write("mode,t_seconds,pid,node,role,rss_kb,cpu_seconds\n")
            for s in samples:
                f.write(",".join(map(str, s)) + "\n")
        summary = {}
        for mode, t, pid, node, role, rss, cpu in samples:
            e = summary.setdefault((mode, role, node, pid), {"rss_max": 0, "cpu": 0.0, "n": 0})
            e["rss_max"] = max(e["rss_max"], rss)
            e["cpu"] = max(e["cpu"], float(cpu))
            e["n"] += 1
        self.results["holder"] = {"summary": summary, "walls": walls, "steps": steps}

    @staticmethod
    def solver_time(path):
        for line in open(path, errors="replace"):
            m = re.match(r"^solver: .* time=([\d.]+)s", line)
            if m:
                return float(m.group(1))
        return None

    # -- plots and summary ---------------------------------------------------
    def plot(self, name, title, xl, yl, files, titles, logx=0, logy=0, xbin=0):
        """One line per file; a file named *_<mode>.dat or *_<mode>_N<n>.dat gets the
        mode's colour in every plot (4 nodes dashed)."""
        out = os.path.join(self.out, name)
        colors, dashes = [], []
        for path in files:
            words = os.path.basename(path)[:-4].split("_")
            mode = next((w for w in reversed(words) if w in MODE_COLOR), None)
            colors.append(MODE_COLOR.get(mode, "#777777"))
            dashes.append("2" if words[-1] == "N4" and words[0] == "metadata" else "1")
        expr = (f"out='{out}'; ttl='{title}'; xl='{xl}'; yl='{yl}'; logx={logx}; logy={logy}; xbin={xbin}; "
                f"colors='{' '.join(colors)}'; dashes='{' '.join(dashes)}'; "
                f"files='{' '.join(files)}'; titles='{' '.join(titles)}'")
        r = subprocess.run(["gnuplot", "-e", expr, os.path.join(LIB, "lines.gp")], capture_output=True, text=True)
        if r.returncode != 0:
            self.notes.append(f"gnuplot failed for {name}: {r.stderr.strip()[:300]}")

    def write_summary(self):
        elapsed = time.time() - self.t0
        L = []
        L.append(f"# hpclaunch benchmarks, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
        L.append("")
        ver = subprocess.run([os.path.join(REPO, "build", "hpclaunch"), "version"], capture_output=True,
                             text=True).stdout.strip()
        chv = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "charliecloud-runtime"], capture_output=True,
                             text=True).stdout.strip()
        L.append(f"`bench/run{' --quick' if self.quick else ''} --budget {self.args.budget:g}`: took "
                 f"{elapsed / 60:.1f} min; {ver}, Charliecloud {chv}; test cluster of {self.nodes} fake nodes on "
                 f"{os.cpu_count()} cores; load average {self.load_start[0]:.1f} at the start, "
                 f"{os.getloadavg()[0]:.1f} at the end (other jobs on this machine make timings noisy).")
        L.append("")
        L.append("Ratios are to bare `srun` in the same run (modes interleaved run by run). Modes: bare `srun`; "
                 "`hpclaunch` = front end inside the allocation; `exec` = companion mode `srun hpclaunch exec`; "
                 "`ch-run` = `srun ch-run` (one container per rank); `join` = `srun ch-run --join` (unique "
                 "`--join-tag` per step).")
        L.append("")
        L += self.targets_section()
        L += self.launch_section()
        L += self.pingpong_section()
        L += self.storm_section()
        L += self.metadata_section()
        L += self.holder_section()
        if self.skipped:
            L.append("## Skipped")
            L.append("")
            for part, what, why in self.skipped:
                L.append(f"- {part}: {what} — {why}")
            L.append("")
        if self.notes:
            L.append("## Notes")
            L.append("")
            L += [f"- {n}" for n in self.notes]
            L.append("")
        files = sorted(f for f in os.listdir(self.out) if f.endswith((".csv", ".png")))
        L.append("Files: " + ", ".join(f"`{f}`" for f in files))
        L.append("")
        with open(os.path.join(self.out, "summary.md"), "w") as f:
            f.write("\n".join(L))
        return elapsed

    def launch_ratio(self, prog, tasks, mode="hpclaunch"):
        table = self.results.get("launch", {})
        out = []
        for nodes in (2, 4):
            b = table.get((prog, nodes, tasks, "bare"), {}).get("median")
            h = table.get((prog, nodes, tasks, mode), {}).get("median")
            if b and h:
                out.append((nodes, h / b, h, b))
        return out

    def targets_section(self):
        L = ["## Targets", "", "| target | measured | result |", "|---|---|---|"]

        def launch_target(label, prog, tasks, limit):
            rs = self.launch_ratio(prog, tasks)
            if not rs:
                L.append(f"| {label} | not measured | – |")
                return
            txt = "; ".join(f"{r:.2f}× on {n} nodes ({h:.2f} s vs {b:.2f} s)" for n, r, h, b in rs)
            ok = all(r <= limit for _, r, _, _ in rs)
            L.append(f"| {label} | {txt} | {'met' if ok else 'missed'} |")

        launch_target("MPI hello launch ≤ 1.15× at 16 ranks", "hello", 16, 1.15)
        launch_target("MPI hello launch ≤ 1.15× at 64 ranks", "hello", 64, 1.15)
        launch_target("`/bin/true` launch ≤ 1.5× at 16 tasks", "true", 16, 1.5)
        launch_target("`/bin/true` launch ≤ 1.2× at 256 tasks", "true", 256, 1.2)
        table = self.results.get("launch", {})
        if table:
            fails = {m: sum(v["fail"] + v["timeout"] for k, v in table.items() if k[3] == m) for m in MODES}
            runs = {m: sum(len(v["ok"]) + v["fail"] + v["timeout"] for k, v in table.items() if k[3] == m)
                    for m in MODES}
            h = fails["hpclaunch"] + fails["exec"]
            others = ", ".join(f"{MODE_TITLE[m]} {fails[m]}/{runs[m]}" for m in ("bare", "chrun", "join"))
            L.append(f"| 0 failed launches (hpclaunch) | hpclaunch {fails['hpclaunch']}/{runs['hpclaunch']}, "
                     f"exec {fails['exec']}/{runs['exec']} (for comparison: {others}) | "
                     f"{'met' if h == 0 else 'missed'} |")
        else:
            L.append("| 0 failed launches | not measured | – |")
        pp = self.results.get("pingpong")
        if pp and "bare" in pp["per"] and "hpclaunch" in pp["per"]:
            size = max(pp["per"]["bare"])
            b = median(pp["per"]["bare"][size][0])
            parts = []
            ok = True
            for m in ("hpclaunch", "exec"):
                if size in pp["per"].get(m, {}):
                    h = median(pp["per"][m][size][0])
                    parts.append(f"{MODE_TITLE[m]} {h / b:.3f}× ({h:.0f} vs {b:.0f} MB/s)")
                    ok = ok and h / b >= 0.97
            L.append(f"| pingpong ≥ 0.97× bare ({size >> 20} MiB, CMA) | {'; '.join(parts)} | "
                     f"{'met' if ok else 'missed'} |")
        else:
            L.append("| pingpong ≥ 0.97× bare | not measured | – |")
        st = self.results.get("storm", {}).get("table", {})
        top = max([k[1] for k in st] or [0])
        if st and top:
            parts, ok, any_ = [], True, False
            for cache in ("warm", "cold"):
                b = st.get((cache, top, "bare"), {}).get("mean")
                h = st.get((cache, top, "hpclaunch"), {}).get("mean")
                if b and h:
                    any_ = True
                    parts.append(f"{cache} {h / b:.2f}× ({h:.3f} vs {b:.3f} s per rank)")
                    ok = ok and h / b <= 1.1
            L.append(f"| import storm ≤ 1.1× at {top} ranks per node | {'; '.join(parts) or 'no data'} | "
                     f"{('met' if ok else 'missed') if any_ else '–'} |")
        else:
            L.append("| import storm ≤ 1.1× at 32 ranks per node | not measured | – |")
        md = [r for r in self.results.get("metadata", []) if r[0] == "hpclaunch"]
        if md:
            txt = "; ".join(f"{r[3]} stat, {r[4]} open at N={r[1]} n={r[2]}" for r in md)
            ok = all(r[3] == 1 and r[9] == "ok" for r in md)
            L.append(f"| 1 stat of the image per job (hpclaunch) | {txt} | {'met' if ok else 'missed'} |")
        else:
            L.append("| 1 stat of the image per job | not measured | – |")
        L.append("")
        return L

    def launch_section(self):
        table = self.results.get("launch")
        if not table:
            return []
        L = ["## Launch scaling", "",
             "Wall time from command to exit inside one allocation (`salloc -N<nodes>`), median of the "
             "successful runs, ratio to bare; `f` = failed or timed-out runs of all runs.", ""]
        hdr = "| prog | nodes | tasks | " + " | ".join(MODE_TITLE[m] for m in MODES) + " |"
        L += [hdr, "|---|---|---|" + "---|" * len(MODES)]
        keys = sorted({k[:3] for k in table}, key=lambda k: (k[0] != "true", k[1], k[2]))
        for prog, nodes, tasks in keys:
            b = table.get((prog, nodes, tasks, "bare"), {}).get("median")
            cells = []
            for m in MODES:
                e = table.get((prog, nodes, tasks, m))
                if not e:
                    cells.append("–")
                    continue
                n = len(e["ok"]) + e["fail"] + e["timeout"]
                bad = e["fail"] + e["timeout"]
                med = e["median"]
                c = f"{med:.2f} s" if med else "all failed"
                if med and b and m != "bare":
                    c += f" ({med / b:.2f}×)"
                if bad:
                    c += f" f {bad}/{n}"
                cells.append(c)
            L.append(f"| {'/bin/true' if prog == 'true' else 'MPI hello'} | {nodes} | {tasks} | " + " | ".join(cells) + " |")
        L.append("")
        return L

    def pingpong_section(self):
        pp = self.results.get("pingpong")
        if not pp:
            return []
        per = pp["per"]
        if not per and not pp["runs"]:
            return []
        L = ["## Intra-node pingpong (2 ranks, one node)", "",
             "Median bandwidth (MB/s) per size; CMA forced (`OMPI_MCA_btl_vader_single_copy_mechanism=cma`) "
             "except for per-rank ch-run, whose ranks are in different user namespaces.", ""]
        modes = [m for m in MODES if m in per]
        sizes = [s for s in (8, 1024, 65536, 1 << 20, 16 << 20, 32 << 20, 64 << 20) if any(s in per[m] for m in modes)]
        L += ["| size | " + " | ".join(MODE_TITLE[m] for m in modes) + " |", "|---|" + "---|" * len(modes)]
        for s in sizes:
            b = median(per.get("bare", {}).get(s, ([], []))[0])
            cells = []
            for m in modes:
                v = median(per[m].get(s, ([], []))[0])
                c = "–" if v is None else fmt(v, 0 if v >= 100 else 1)
                if v and b and m != "bare":
                    c += f" ({v / b:.3f}×)"
                cells.append(c)
            label = f"{s >> 20} MiB" if s >= 1 << 20 else (f"{s >> 10} KiB" if s >= 1024 else f"{s} B")
            L.append(f"| {label} | " + " | ".join(cells) + " |")
        lat = [f"{MODE_TITLE[m]} {median(per[m][8][1]):.2f} us" for m in modes if 8 in per[m]]
        if lat:
            L.append("")
            L.append("8-byte one-way latency: " + ", ".join(lat) + ".")
        bad = [r for r in pp["runs"] if r[4] != "ok"]
        if bad:
            L.append("")
            for r in bad:
                L.append(f"- {MODE_TITLE[r[0]]} run {r[1]} (max {r[2]}): {r[4]} — {r[6]}")
        L.append("")
        return L

    def storm_section(self):
        st = self.results.get("storm")
        if not st or not st["table"]:
            return []
        t = st["table"]
        L = ["## Import storm", "",
             f"Every rank dlopens {self.storm_count} small libraries; seconds per rank (mean over ranks, median of "
             "runs); bare reads the tree on the host FS. Cold = `sync; echo 3 > /proc/sys/vm/drop_caches` before "
             "each run, for every mode.", ""]
        modes = ["bare", "hpclaunch", "chrun", "join"]
        L += ["| cache | ranks | " + " | ".join(MODE_TITLE[m] for m in modes) + " |", "|---|---|" + "---|" * 4]
        for cache in ("warm", "cold"):
            for ranks in sorted({k[1] for k in t if k[0] == cache}):
                b = t.get((cache, ranks, "bare"), {}).get("mean")
                cells = []
                for m in modes:
                    e = t.get((cache, ranks, m))
                    if not e:
                        cells.append("–")
                        continue
                    c = f"{e['mean']:.3f}" if e["mean"] else "all failed"
                    if e["mean"] and b and m != "bare":
                        c += f" ({e['mean'] / b:.2f}×)"
                    if e["fail"]:
                        c += f" f {e['fail']}/{e['runs']}"
                    cells.append(c)
                L.append(f"| {cache} | {ranks} | " + " | ".join(cells) + " |")
        ex = st["extras"]
        if ex.get("fuse"):
            L.append("")
            L.append("hpclaunch FUSE requests served (`hpclaunch -v`, one line per node holder, warm): " +
                     "; ".join(f"`{c}`" for c in ex["fuse"]))
        for m in ("bare", "hpclaunch"):
            prof = ex.get(f"strace_{m}")
            if prof:
                L.append("")
                top = ", ".join(f"{name} {pct:.0f}% ({calls} calls)" for pct, name, calls in prof["top"])
                r0 = ex.get(f"strace_{m}_rank0")
                L.append(f"`strace -c -f` of rank 0, {m}{' (companion mode)' if m == 'hpclaunch' else ''}: "
                         f"{prof['total_seconds']} s in syscalls; top: {top}"
                         f"{f'; the traced rank took {r0:.2f} s' if r0 else ''} (storm_strace_{m}.txt).")
        L.append("")
        return L

    def metadata_section(self):
        rows = self.results.get("metadata")
        if not rows:
            return []
        L = ["## Image metadata operations per job", "",
             "Calls naming the image file (path, or an fd open on it) across every traced process: the command "
             "(`srun`/front end) and every task or node-step process, `strace -f`.", "",
             "| mode | nodes | tasks | stat | open | other | nodes that stat | status |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            L.append(f"| {MODE_TITLE[r[0]]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[7]} | {r[9]} |")
        L.append("")
        return L

    def holder_section(self):
        h = self.results.get("holder")
        if not h:
            return []
        L = ["## Holder cost", "",
             f"`solver --steps {h['steps']}` on 16 ranks, 2 nodes; processes sampled every 0.5 s "
             "(RSS from /proc/PID/status, CPU = utime + stime).", "",
             "| mode | process | node | max RSS (MiB) | CPU (s) | run wall (s) |", "|---|---|---|---|---|---|"]
        for (mode, role, node, pid), e in sorted(h["summary"].items()):
            wall = h["walls"].get(mode, (0, "", ""))[0]
            L.append(f"| {MODE_TITLE[mode]} | {role} | {node} | {e['rss_max'] / 1024:.1f} | {e['cpu']:.2f} | {wall:.1f} |")
        for mode, (secs, status, solver) in h["walls"].items():
            if solver or status != "ok":
                L.append("")
                L.append(f"{MODE_TITLE[mode]}: {status}{'; ' + solver if solver else ''}")
        L.append("")
        return L

    # -- driver --------------------------------------------------------------
    def run(self):
        log(f"budget {self.args.budget:g} min{' (quick)' if self.quick else ''}; results in {self.out}")
        self.stage()
        todo = [p for p in PARTS if p in self.parts]
        for i, part in enumerate(todo):
            share = SHARES[part] / sum(SHARES[p] for p in todo[i:])
            deadline = time.time() + max(self.left(), 0) * share
            log(f"part {part}: {deadline - time.time():.0f} s")
            start = time.time()
            try:
                getattr(self, f"part_{part}")(deadline)
            except Exception as e:  # keep the other parts' results
                self.notes.append(f"part {part} stopped: {type(e).__name__}: {e}")
                log(f"part {part} stopped: {type(e).__name__}: {e}")
            log(f"part {part} done in {time.time() - start:.0f} s")
        for p in PARTS:
            if p not in self.parts:
                self.skipped.append((p, "whole part", "not selected (--parts)"))
        elapsed = self.write_summary()
        if self.args.readme:
            self.update_readme()
        log(f"done in {elapsed / 60:.1f} min: {os.path.join(self.out, 'summary.md')}")

    def update_readme(self):
        """Puts summary.md between the results markers of bench/README.md."""
        path = os.path.join(REPO, "bench", "README.md")
        begin, end = "<!-- results:begin -->", "<!-- results:end -->"
        try:
            text = open(path).read()
        except OSError:
            return
        if begin not in text or end not in text:
            return
        summary = open(os.path.join(self.out, "summary.md")).read()
        summary = re.sub(r"^# .*\n", "", summary, count=1)
        summary = re.sub(r"^(#+) ", r"#\1 ", summary, flags=re.M)  # one level down
        rel = os.path.relpath(self.out, os.path.join(REPO, "bench"))
        body = f"{begin}\nFrom `{rel}/summary.md`:\n{summary.rstrip()}\n{end}"
        text = text[:text.index(begin)] + body + text[text.index(end) + len(end):]
        open(path, "w").write(text)
        log("bench/README.md results updated")


def main():
    ap = argparse.ArgumentParser(prog="bench/run")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budget", type=float)
    ap.add_argument("--out")
    ap.add_argument("--parts", help="comma-separated subset of " + ",".join(PARTS))
    ap.add_argument("--keep", action="store_true", help="keep the staging dir (trial logs)")
    ap.add_argument("--readme", action=argparse.BooleanOptionalAction, default=None,
                    help="put summary.md into bench/README.md (default: yes for full runs of every part)")
    args = ap.parse_args()
    if args.readme is None:
        args.readme = not args.quick and args.parts is None
    if args.budget is None:
        args.budget = 4.2 if args.quick else 45  # --quick: under 5 minutes with overruns
    if args.out is None:
        day = datetime.date.today().isoformat()
        args.out = os.path.join(REPO, "bench", "results", day + ("-quick" if args.quick else ""))
    if os.geteuid() != 0:
        sys.exit("bench: run as root (jobs run as the test user; cold runs drop the page cache)")
    b = Bench(args)
    try:
        b.run()
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
