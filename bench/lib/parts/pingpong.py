"""Part 2, intra-node pingpong: `pingpong` 8 B .. 64 MiB between 2 ranks on one
node in every mode, CMA forced where it can be (pingpong.csv, pingpong_runs.csv,
pingpong_bandwidth.png, pingpong_latency.png)."""
import os
import re
import time

import report
from common import MODE_TITLE, MODES, fmt, log, median, write_csv

NAME = "pingpong"
SHARE = 0.12

CMA = {"OMPI_MCA_btl_vader_single_copy_mechanism": "cma"}
# Per-rank ch-run pingpong hangs at some size above 1 MiB (2-4 MiB here): after a
# hang the curve is measured up to this size.
FALLBACK_MAX, FALLBACK_BYTES = "1M", 1 << 20
LINE_RE = re.compile(r"^pingpong size=(\d+) iters=(\d+) latency_us=([\d.]+) bandwidth_MBps=([\d.]+)")
SIZES = (8, 1024, 65536, 1 << 20, 16 << 20, 32 << 20, 64 << 20)  # the rows of the summary table


def mode_commands(ctx):
    """[(mode, argv of the pingpong arguments, extra env)] (@RUN@: a unique --join tag)."""
    w, img = ctx.work, ctx.image
    srun = ["srun", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n2"]
    return [
        ("bare", lambda a: srun + [f"{w}/bin/pingpong"] + a, CMA),
        ("hpclaunch", lambda a: ["salloc", "-J", ctx.job_name, "-w", ctx.one_node, "-N1", "-n2", f"{w}/bin/hpclaunch",
                                 "-n", "2", "--image", img, "pingpong"] + a, CMA),
        ("exec", lambda a: srun + [f"{w}/bin/hpclaunch", "exec", "--image", img, "pingpong"] + a, CMA),
        # Per-rank containers are separate user namespaces: CMA cannot be
        # used (forcing it fails the job), so Open MPI's default applies.
        ("chrun", lambda a: srun + ["ch-run"] + ctx.ch_binds + [img, "--", "/usr/local/bin/pingpong"] + a, {}),
        ("join", lambda a: srun + ["ch-run", f"--join-tag={ctx.tag_prefix}pp@RUN@"] + ctx.ch_binds +
         [img, "--", "/usr/local/bin/pingpong"] + a, CMA),
    ]


class Pingpong:
    """One part run: runs are rounds of every mode; a mode that hung at the full
    range is measured again (and in later runs only) up to FALLBACK_MAX."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.timeout = 20 if ctx.quick else 60
        self.pp = ["--time-per-size", "0.05" if ctx.quick else "0.2"]
        self.modes = mode_commands(ctx)
        self.est = {m: (4.0 if ctx.quick else 9.0) for m, _, _ in self.modes}
        self.rows, self.runs_rows = [], []  # pingpong.csv, pingpong_runs.csv
        self.hung = set()

    def run(self, deadline, runs):
        for run in range(1, runs + 1):
            if sum(self.est.values()) > deadline - time.time():
                self.ctx.skipped.append((NAME, f"runs {run}..{runs}", f"{deadline - time.time():.0f} s left"))
                break
            for mode, build, env in self.modes:
                tries = [None] if mode not in self.hung else [FALLBACK_MAX]
                i = 0
                while i < len(tries):
                    max_size = tries[i]
                    i += 1
                    if self.one(mode, build, env, run, i, max_size) == "timeout" and mode not in self.hung \
                            and not max_size:
                        self.hung.add(mode)
                        tries.append(FALLBACK_MAX)  # the curve up to there

    def one(self, mode, build, env, run, i, max_size):
        """One trial (max_size None: the full range); records it and returns its status."""
        args = self.pp + (["--max-size", max_size] if max_size else [])
        argv = [a.replace("@RUN@", f"{run}{i}") for a in build(args)]
        secs, rc, status, path = self.ctx.trial(argv, self.timeout, f"pingpong.{mode}.{run}.{max_size or 'full'}.log",
                                                env)
        pts = []
        for line in open(path, errors="replace"):
            m = LINE_RE.match(line)
            if m:
                pts.append(m.groups())
        want = FALLBACK_BYTES if max_size else 64 << 20
        note = "" if not max_size else f"--max-size {FALLBACK_MAX} (the full range hung)"
        if status == "ok" and (not pts or int(pts[-1][0]) != want):
            status, note = "fail", f"no result for {want} bytes"
        if status == "timeout":
            note = f"hung: no exit after {self.timeout} s (last size printed: none, output is block-buffered)"
        if status == "ok":
            self.est[mode] = secs * 1.2
            for size, iters, lat, bw in pts:
                self.rows.append((mode, run, int(size), int(iters), float(lat), float(bw)))
        else:
            self.ctx.keep_log(path)
        self.runs_rows.append((mode, run, max_size or "64M", f"{secs:.2f}", status, rc, note))
        log(f"pingpong {mode} run {run}{' ' + max_size if max_size else ''}: {status}"
            f"{' ' + pts[-1][3] + ' MB/s at ' + pts[-1][0] + ' B' if pts and status == 'ok' else ''}")
        return status


def run(ctx, deadline):
    pp = Pingpong(ctx)
    pp.run(deadline, 1 if ctx.quick else 3)
    write_csv(os.path.join(ctx.out, "pingpong.csv"), "mode,run,size_bytes,iters,latency_us,bandwidth_MBps", pp.rows)
    write_csv(os.path.join(ctx.out, "pingpong_runs.csv"), "mode,run,max_size,seconds,status,rc,note", pp.runs_rows)
    per = {}  # mode -> size -> [bw], [lat]
    for mode, run, size, iters, lat, bw in pp.rows:
        e = per.setdefault(mode, {}).setdefault(size, ([], []))
        e[0].append(bw)
        e[1].append(lat)
    ctx.results[NAME] = {"per": per, "runs": pp.runs_rows}
    plot(ctx, per)


def plot(ctx, per):
    pd = report.plotdata(ctx)
    for what, idx, ylab, logy in (("bandwidth", 0, "MB/s (1e6 B/s)", 1), ("latency", 1, "one-way latency (us)", 1)):
        files, titles = [], []
        for mode in MODES:
            if mode not in per:
                continue
            files.append(report.write_dat(pd, f"pingpong_{what}_{mode}.dat", f"# size_bytes median_{what}",
                                          (f"{size} {median(per[mode][size][idx]):.3f}" for size in sorted(per[mode]))))
            titles.append(MODE_TITLE[mode].replace(" ", "_"))
        if files:
            report.plot(ctx, f"pingpong_{what}.png",
                        f"Pingpong {what}, 2 ranks on one node (CMA forced where it works)", "message size", ylab,
                        files, titles, logx=1, logy=logy, xbin=1)


# -- summary.md ------------------------------------------------------------------
def targets(ctx):
    pp = ctx.results.get(NAME)
    if not (pp and "bare" in pp["per"] and "hpclaunch" in pp["per"]):
        return [report.not_measured("pingpong ≥ 0.97× bare")]
    size = max(pp["per"]["bare"])
    b = median(pp["per"]["bare"][size][0])
    parts = []
    ok = True
    for m in ("hpclaunch", "exec"):
        if size in pp["per"].get(m, {}):
            h = median(pp["per"][m][size][0])
            parts.append(f"{MODE_TITLE[m]} {h / b:.3f}× ({h:.0f} vs {b:.0f} MB/s)")
            ok = ok and h / b >= 0.97
    return [report.target(f"pingpong ≥ 0.97× bare ({size >> 20} MiB, CMA)", "; ".join(parts), ok)]


def size_label(s):
    return f"{s >> 20} MiB" if s >= 1 << 20 else (f"{s >> 10} KiB" if s >= 1024 else f"{s} B")


def section(ctx):
    pp = ctx.results.get(NAME)
    if not pp:
        return []
    per = pp["per"]
    if not per and not pp["runs"]:
        return []
    L = report.heading("Intra-node pingpong (2 ranks, one node)",
                       "Median bandwidth (MB/s) per size; CMA forced (`OMPI_MCA_btl_vader_single_copy_mechanism=cma`) "
                       "except for per-rank ch-run, whose ranks are in different user namespaces.")
    modes = [m for m in MODES if m in per]
    rows = []
    for s in (s for s in SIZES if any(s in per[m] for m in modes)):
        b = median(per.get("bare", {}).get(s, ([], []))[0])
        cells = []
        for m in modes:
            v = median(per[m].get(s, ([], []))[0])
            c = "–" if v is None else fmt(v, 0 if v >= 100 else 1)
            if v and b and m != "bare":
                c += f" ({v / b:.3f}×)"
            cells.append(c)
        rows.append(report.row([size_label(s)] + cells))
    # (not report.table: with no mode measured the header keeps its empty cell, "| size |  |")
    L += ["| size | " + " | ".join(MODE_TITLE[m] for m in modes) + " |", "|---|" + "---|" * len(modes)] + rows
    lat = [f"{MODE_TITLE[m]} {median(per[m][8][1]):.2f} us" for m in modes if 8 in per[m]]
    if lat:
        L += ["", "8-byte one-way latency: " + ", ".join(lat) + "."]
    bad = [r for r in pp["runs"] if r[4] != "ok"]
    if bad:
        L.append("")
        L += [f"- {MODE_TITLE[r[0]]} run {r[1]} (max {r[2]}): {r[4]} — {r[6]}" for r in bad]
    return L + [""]
