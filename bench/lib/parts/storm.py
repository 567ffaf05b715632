"""Part 3, import storm: every rank dlopens COUNT small libraries from an image
made by bench/storm/make-storm-image, on one node, warm and cold page cache
(storm.csv, storm_runs.csv, storm_warm.png, storm_cold.png); at the most ranks
also the holder's FUSE request counts and strace -c of rank 0."""
import os
import re
import shutil
import statistics
import subprocess
import time

import budget
import report
import runner
from common import MODE_TITLE, REPO, fmt, log, median, write_csv

NAME = "storm"
SHARE = 0.25

COUNT = 1000  # libraries per rank
MODES = ["bare", "hpclaunch", "named", "chrun", "join"]
PRIORS = {
    "warm": {"bare": [0.8, 0.03, 1], "hpclaunch": [1.0, 0.05, 1], "named": [2.0, 0.08, 1], "chrun": [1.0, 0.09, 1],
             "join": [1.0, 0.06, 1]},
    "cold": {"bare": [1.5, 0.04, 1], "hpclaunch": [1.8, 0.07, 1], "chrun": [1.8, 0.12, 1], "join": [1.8, 0.08, 1]},
}
LINE_RE = re.compile(r"^storm rank=(\d+) libs=(\d+) seconds=([\d.]+)")


def make_image(ctx, count):
    """The storm tree and its image in the staging dir; returns (image, tree)."""
    d = os.path.join(ctx.work, "storm")
    subprocess.run([os.path.join(REPO, "bench", "storm", "make-storm-image"), d, str(count)], check=True)
    tree = os.path.join(d, "tree")
    # What ch-run needs in an image: /etc/{hosts,resolv.conf,passwd,group}
    # and the bind targets; rebuilt with make-storm-image's options.
    for f in ("hosts", "resolv.conf", "passwd", "group"):
        target = os.path.join(tree, "etc", f)
        if not os.path.exists(target):
            shutil.copy2(os.path.join("/etc", f), target)
    for dd in (ctx.nodelocal, ctx.spool_parent):
        os.makedirs(tree + dd, exist_ok=True)
    image = os.path.join(d, "storm.sqsh")
    subprocess.run(["mksquashfs", tree, image, "-noappend", "-all-root", "-comp", "zstd", "-quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["chown", "-R", f"{ctx.user}:", d], check=True)
    return image, tree


def drop_caches():
    subprocess.run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def rank_seconds(path):
    """[(rank, seconds)] from the `storm rank=` lines of a log."""
    vals = []
    for line in open(path, errors="replace"):
        m = LINE_RE.match(line)
        if m:
            vals.append((int(m.group(1)), float(m.group(3))))
    return vals


class Storm:
    """One part run: rows (storm.csv, one per rank), runs_rows (storm_runs.csv),
    extras (FUSE counts, strace profiles) for the summary."""

    def __init__(self, ctx, deadline):
        self.ctx, self.deadline = ctx, deadline
        self.image, self.tree = make_image(ctx, COUNT)
        self.runs = 2 if ctx.quick else 5
        self.ranks_list = [32, 1] if ctx.quick else [32, 1, 16, 4]
        self.top = max(self.ranks_list)
        self.est = runner.Estimator(PRIORS)
        self.rows, self.runs_rows = [], []
        self.extras = {}
        self.tag = 0

    def modes(self, ranks, cache="warm"):
        """[(mode, argv)] (@TAG@: a unique --join tag). `named` (warm only): a
        first launch creates the named container and runs the storm once
        (output dropped), the second launch into it is the one measured (the
        ranks time their own dlopens)."""
        ctx, w, img, n = self.ctx, self.ctx.work, self.image, str(COUNT)
        srun = ["srun", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n", str(ranks)]
        twice = ('h=$0; "$h" --name storm -n "$1" --image "$2" storm /libs "$3" >/dev/null && '
                 'exec "$h" --name storm -n "$1" --image "$2" storm /libs "$3"')
        named = [("named", ["salloc", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n", str(ranks), "sh", "-c",
                            twice, f"{w}/bin/hpclaunch", str(ranks), img, n])] if cache == "warm" else []
        return named + [
            ("bare", srun + [f"{self.tree}/usr/local/bin/storm", f"{self.tree}/libs", n]),
            ("hpclaunch", ["salloc", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n", str(ranks),
                           f"{w}/bin/hpclaunch", "-n", str(ranks), "--image", img, "storm", "/libs", n]),
            ("chrun", srun + ["ch-run"] + ctx.ch_binds + [img, "--", "/usr/local/bin/storm", "/libs", n]),
            ("join", srun + ["ch-run", "--join-tag=@TAG@"] + ctx.ch_binds + [img, "--", "/usr/local/bin/storm",
                                                                            "/libs", n]),
        ]

    def run(self):
        # Priority order: the target cases (most ranks, warm then cold) and the
        # FUSE counts and strace profiles first, then the other rank counts
        # (warmed up again after the cold runs).
        self.warm_up()
        self.group("warm", self.top)
        self.extra_runs()
        self.group("cold", self.top)
        rest = [r for r in self.ranks_list if r != self.top]
        if rest and self.deadline - time.time() > 10:
            self.warm_up()
        for cache in ("warm", "cold"):
            for ranks in rest:
                self.group(cache, ranks)

    def one(self, cache, ranks, mode, argv, run, label=None):
        """One trial; returns (seconds, rc, status, note, [(rank, seconds)], log path)."""
        self.tag += 1
        argv = [a.replace("@TAG@", f"{self.ctx.tag_prefix}st{self.tag}") for a in argv]
        if cache == "cold":
            drop_caches()
        secs, rc, status, path = self.ctx.trial(argv, self.ctx.timeout,
                                                f"storm.{cache}.{ranks}.{mode}.{label or run}.log")
        vals = rank_seconds(path)
        note = ""
        if status == "ok" and len(vals) != ranks:
            status, note = "fail", f"{len(vals)} of {ranks} ranks reported"
        elif status == "fail":
            note = f"{len(vals)} of {ranks} ranks reported"
        if status != "ok":
            self.ctx.keep_log(path)
        return secs, rc, status, note, vals, path

    def warm_up(self):  # the page cache holds the tree and the image before warm runs
        for mode, argv in self.modes(1):
            self.one("warm", 1, mode, argv, 0, "warmup")

    def group(self, cache, ranks):
        """`runs` runs of every mode, interleaved, if the estimate fits."""
        modes = self.modes(ranks, cache)
        need = self.runs * sum(self.est.predict(cache, m, ranks) for m, _ in modes)
        if not budget.fits(self.ctx, NAME, f"{cache} {ranks} ranks", need, self.deadline, f"estimated {need:.0f} s"):
            return
        walls = {m: [] for m, _ in modes}
        for run in range(1, self.runs + 1):
            for mode, argv in modes:
                secs, rc, status, note, vals, _ = self.one(cache, ranks, mode, argv, run)
                self.runs_rows.append((cache, ranks, mode, run, f"{secs:.3f}", status, rc, note))
                if status == "ok":
                    walls[mode].append(secs)
                for rank, s in vals:
                    self.rows.append((cache, ranks, mode, run, status, rank, s))
        for m, v in walls.items():
            if v:
                self.est.learn(cache, m, ranks, median(v))
        means = storm_means(self.rows, cache, ranks)
        log(f"storm {cache} {ranks} ranks: " + " ".join(f"{m}={fmt(means.get(m))}" for m, _ in modes))

    def extra_runs(self):
        """FUSE request counts (hpclaunch -v) and where a rank's time goes (strace -c)."""
        if self.deadline - time.time() > 3 * self.est.predict("warm", "hpclaunch", self.top) + 10:
            self.fuse_counts()
            self.strace_profiles()
        else:
            self.ctx.skipped.append((NAME, "FUSE counts and strace -c", "no time left"))

    def fuse_counts(self):
        ctx, top = self.ctx, self.top
        argv = ["salloc", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n", str(top), f"{ctx.work}/bin/hpclaunch",
                "-v", "-n", str(top), "--image", self.image, "storm", "/libs", str(COUNT)]
        secs, rc, status, path = ctx.trial(argv, ctx.timeout, f"storm.fuse.{top}.log")
        counts = [line.split("FUSE requests served:", 1)[1].strip()
                  for line in open(path, errors="replace") if "FUSE requests served:" in line]
        self.extras["fuse"] = counts
        self.extras["fuse_status"] = status
        shutil.copy2(path, os.path.join(ctx.out, f"storm_hpclaunch_verbose_{top}.log"))

    def strace_profiles(self):
        """strace -c of one rank: bare, and hpclaunch companion mode (the traced
        task starts 1 s late so that another task starts the node's holder
        and the profile is the rank's alone)."""
        ctx, n = self.ctx, str(COUNT)
        for mode, prog in (("bare", [f"{self.tree}/usr/local/bin/storm", f"{self.tree}/libs", n]),
                           ("hpclaunch", [f"{ctx.work}/bin/hpclaunch", "exec", "--image", self.image,
                                          "storm", "/libs", n])):
            prof = os.path.join(ctx.work, "trace", f"storm_strace_{mode}.txt")
            script = ('if [ "$SLURM_PROCID" = 0 ]; then sleep 1; exec strace -c -f -o "$0" "$@"; '
                      'else exec "$@"; fi')
            argv = ["srun", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n", str(self.top), "sh", "-c", script,
                    prof] + prog
            secs, rc, status, path = ctx.trial(argv, ctx.timeout, f"storm.strace.{mode}.log")
            if os.path.exists(prof):
                shutil.copy2(prof, os.path.join(ctx.out, f"storm_strace_{mode}.txt"))
                self.extras[f"strace_{mode}"] = strace_top(prof)
                self.extras[f"strace_{mode}_rank0"] = next((s for r, s in rank_seconds(path) if r == 0), None)

    def table(self):
        """{(cache, ranks, mode): {"mean": s per rank or None, "fail": n, "runs": n}}."""
        table = {}
        for cache in ("warm", "cold"):
            for ranks in self.ranks_list:
                means = storm_means(self.rows, cache, ranks)
                fails = {}
                for r in self.runs_rows:
                    if r[0] == cache and r[1] == ranks and r[5] != "ok":
                        fails[r[2]] = fails.get(r[2], 0) + 1
                for m in MODES:
                    if m in means or m in fails:
                        runs = sum(1 for r in self.runs_rows if r[:3] == (cache, ranks, m))
                        table[(cache, ranks, m)] = {"mean": means.get(m), "fail": fails.get(m, 0), "runs": runs}
        return table


def storm_means(rows, cache, ranks):
    """{mode: median over the ok runs of the mean seconds per rank}."""
    per_run = {}
    for c, r, mode, run, status, rank, s in rows:
        if c == cache and r == ranks and status == "ok":
            per_run.setdefault(mode, {}).setdefault(run, []).append(s)
    return {m: median([statistics.mean(v) for v in runs.values()]) for m, runs in per_run.items()}


def strace_top(path, n=6):
    """{"top": [(percent, syscall, calls)] of the n first rows, "total_seconds": text} of an strace -c file."""
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


def run(ctx, deadline):
    st = Storm(ctx, deadline)
    st.run()
    write_csv(os.path.join(ctx.out, "storm.csv"), "cache,ranks,mode,run,status,rank,seconds", st.rows)
    write_csv(os.path.join(ctx.out, "storm_runs.csv"), "cache,ranks,mode,run,wall_seconds,status,rc,note",
              st.runs_rows)
    table = st.table()
    ctx.results[NAME] = {"table": table, "extras": st.extras}
    plot(ctx, table)


def plot(ctx, table):
    pd = report.plotdata(ctx)
    for cache in ("warm", "cold"):
        files, titles = [], []
        for m in MODES:
            pts = sorted((k[1], v["mean"]) for k, v in table.items() if k[0] == cache and k[2] == m and v["mean"])
            if not pts:
                continue
            files.append(report.write_dat(pd, f"storm_{cache}_{m}.dat", "# ranks seconds_per_rank",
                                          (f"{r} {s:.4f}" for r, s in pts)))
            titles.append(MODE_TITLE[m].replace(" ", "_").replace("srun_", "") if m != "bare" else "bare_(host_FS)")
        if files:
            report.plot(ctx, f"storm_{cache}.png", f"Import storm: {COUNT} dlopen per rank, one node, {cache} cache",
                        "ranks on the node", "seconds per rank (median of runs, mean over ranks)", files, titles,
                        logx=1, logy=0)


# -- summary.md ------------------------------------------------------------------
def targets(ctx):
    st = ctx.results.get(NAME, {}).get("table", {})
    top = max([k[1] for k in st] or [0])
    if not (st and top):
        return [report.not_measured("import storm ≤ 1.1× at 32 ranks per node")]
    parts, ok, any_ = [], True, False
    for cache in ("warm", "cold"):
        b = st.get((cache, top, "bare"), {}).get("mean")
        h = st.get((cache, top, "hpclaunch"), {}).get("mean")
        if b and h:
            any_ = True
            parts.append(f"{cache} {h / b:.2f}× ({h:.3f} vs {b:.3f} s per rank)")
            ok = ok and h / b <= 1.1
    rows = [report.target(f"import storm ≤ 1.1× at {top} ranks per node", "; ".join(parts) or "no data",
                          ok if any_ else None)]
    # Issue 12: the second launch into a named container (warm).
    for ranks, limit in ((top, 1.10), (1, 1.2)):
        b = st.get(("warm", ranks, "bare"), {}).get("mean")
        h = st.get(("warm", ranks, "named"), {}).get("mean")
        what = f"import storm, second launch into a named container ≤ {limit}× at {ranks} rank(s)"
        if b and h:
            rows.append(report.target(what, f"{h / b:.2f}× ({h:.3f} vs {b:.3f} s per rank)", h / b <= limit))
        else:
            rows.append(report.not_measured(what))
    return rows


def cell(e, bare, mode):
    if not e:
        return "–"
    c = f"{e['mean']:.3f}" if e["mean"] else "all failed"
    if e["mean"] and bare and mode != "bare":
        c += f" ({e['mean'] / bare:.2f}×)"
    if e["fail"]:
        c += f" f {e['fail']}/{e['runs']}"
    return c


def section(ctx):
    st = ctx.results.get(NAME)
    if not st or not st["table"]:
        return []
    t = st["table"]
    L = report.heading("Import storm",
                       f"Every rank dlopens {COUNT} small libraries; seconds per rank (mean over ranks, median of "
                       "runs); bare reads the tree on the host FS. Cold = `sync; echo 3 > /proc/sys/vm/drop_caches` "
                       "before each run, for every mode.")
    rows = []
    for cache in ("warm", "cold"):
        for ranks in sorted({k[1] for k in t if k[0] == cache}):
            b = t.get((cache, ranks, "bare"), {}).get("mean")
            rows.append(report.row([cache, ranks] + [cell(t.get((cache, ranks, m)), b, m) for m in MODES]))
    return L + report.table(["cache", "ranks"] + [MODE_TITLE[m] for m in MODES], rows) + extras_lines(st["extras"])


def extras_lines(ex):
    L = []
    if ex.get("fuse"):
        L += ["", "hpclaunch FUSE requests served (`hpclaunch -v`, one line per node holder, warm): " +
              "; ".join(f"`{c}`" for c in ex["fuse"])]
    for m in ("bare", "hpclaunch"):
        prof = ex.get(f"strace_{m}")
        if prof:
            top = ", ".join(f"{name} {pct:.0f}% ({calls} calls)" for pct, name, calls in prof["top"])
            r0 = ex.get(f"strace_{m}_rank0")
            L += ["", f"`strace -c -f` of rank 0, {m}{' (companion mode)' if m == 'hpclaunch' else ''}: "
                  f"{prof['total_seconds']} s in syscalls; top: {top}"
                  f"{f'; the traced rank took {r0:.2f} s' if r0 else ''} (storm_strace_{m}.txt)."]
    return L + [""]
