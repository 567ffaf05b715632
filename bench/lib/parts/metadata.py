"""Part 4, image metadata operations: one job per mode with every process under
strace; counts the calls that name the image file (metadata.csv, metadata.png)."""
import glob
import os
import re
import time

import report
from common import MODE_TITLE, log, write_csv

NAME = "metadata"
SHARE = 0.10

MODES = ["hpclaunch", "exec", "chrun", "join"]
STAT_RE = re.compile(r"^(stat|lstat|fstat|newfstatat|fstatat64|statx|stat64|lstat64|fstat64|oldstat|oldlstat|oldfstat)$")
OPEN_RE = re.compile(r"^(open|openat|openat2|creat|open_by_handle_at)$")


def command(ctx, mode, nodes, tasks, wrap):
    """(argv, extra env) of one traced job; wrap: the tracing wrapper's argv."""
    w, img = ctx.work, ctx.image
    per_node = f"--ntasks-per-node={tasks // nodes}"
    srun = ["srun", "-J", ctx.job_name, "-N", str(nodes), "-n", str(tasks), per_node]
    if mode == "hpclaunch":
        argv = ["salloc", "-J", ctx.job_name, "-N", str(nodes), "-n", str(tasks), per_node] + wrap + [
            f"{w}/bin/hpclaunch", "-N", str(nodes), "-n", str(tasks), per_node, "--image", img, "true"]
        return argv, {"HPCLAUNCH_NODE_STEP_WRAPPER": " ".join(wrap)}
    if mode == "exec":
        return wrap + srun + wrap + [f"{w}/bin/hpclaunch", "exec", "--image", img, "true"], {}
    if mode == "chrun":
        return wrap + srun + wrap + ["ch-run"] + ctx.ch_binds + [img, "--", "/usr/bin/true"], {}
    return wrap + srun + wrap + ["ch-run", f"--join-tag={ctx.tag_prefix}md{nodes}x{tasks}"] + \
        ctx.ch_binds + [img, "--", "/usr/bin/true"], {}


def traced_job(ctx, mode, nodes, tasks):
    """Runs one traced job; returns (its metadata.csv row, seconds)."""
    tdir = os.path.join(ctx.work, "trace", f"{mode}.{nodes}.{tasks}")
    os.makedirs(tdir)
    os.chown(tdir, ctx.pw.pw_uid, ctx.pw.pw_gid)
    argv, extra = command(ctx, mode, nodes, tasks, [f"{ctx.work}/bin/tracewrap", tdir])
    secs, rc, status, path = ctx.trial(argv, 3 * ctx.timeout, f"metadata.{mode}.{nodes}.{tasks}.log", extra)
    if status != "ok":
        ctx.keep_log(path)
    counts = count_image_calls(tdir, ctx.image)
    log(f"metadata {mode} N={nodes} n={tasks}: stat={counts['stat']} open={counts['open']} "
        f"other={counts['other']} ({status})")
    return (mode, nodes, tasks, counts["stat"], counts["open"], counts["other"], counts["files"],
            counts["nodes_stat"], f"{secs:.2f}", status), secs


def run(ctx, deadline):
    cases = [(n, t) for t in ((16,) if ctx.quick else (16, 64)) for n in (2, 4)]
    rows = []
    est = 6.0 if ctx.quick else 10.0
    for nodes, tasks in cases:
        if nodes > ctx.nodes:
            ctx.skipped.append((NAME, f"N={nodes}", f"the cluster has {ctx.nodes} nodes"))
            continue
        for mode in MODES:
            if est > deadline - time.time():
                ctx.skipped.append((NAME, f"{mode} N={nodes} n={tasks}", "no time left"))
                continue
            row, secs = traced_job(ctx, mode, nodes, tasks)
            est = max(est, secs * 1.2)
            rows.append(row)
    write_csv(os.path.join(ctx.out, "metadata.csv"),
              "mode,nodes,tasks,stat_calls,open_calls,other_calls,processes_traced,nodes_that_stat,seconds,status",
              rows)
    ctx.results[NAME] = rows
    plot(ctx, rows)


def plot(ctx, rows):
    pd = report.plotdata(ctx)
    files, titles = [], []
    for mode in MODES:
        for nodes in (2, 4):
            pts = sorted((r[2], r[3] + r[4]) for r in rows if r[0] == mode and r[1] == nodes)
            if not pts:
                continue
            files.append(report.write_dat(pd, f"metadata_{mode}_N{nodes}.dat", "# tasks stat+open_calls",
                                          (f"{t} {max(c, 0.5)}" for t, c in pts)))
            titles.append((MODE_TITLE[mode] + f", {nodes} nodes").replace(" ", "_"))
    if files:
        report.plot(ctx, "metadata.png", "stat + open calls on the image file per job (all processes)", "tasks",
                    "calls", files, titles, logx=1, logy=1)


def count_image_calls(tdir, img):
    """{"stat", "open", "other": calls on the image, "files": processes traced, "nodes_stat": nodes that stat it}."""
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


# -- summary.md ------------------------------------------------------------------
def targets(ctx):
    md = [r for r in ctx.results.get(NAME, []) if r[0] == "hpclaunch"]
    if not md:
        return [report.not_measured("1 stat of the image per job")]
    txt = "; ".join(f"{r[3]} stat, {r[4]} open at N={r[1]} n={r[2]}" for r in md)
    return [report.target("1 stat of the image per job (hpclaunch)", txt,
                          all(r[3] == 1 and r[9] == "ok" for r in md))]


def section(ctx):
    rows = ctx.results.get(NAME)
    if not rows:
        return []
    L = report.heading("Image metadata operations per job",
                       "Calls naming the image file (path, or an fd open on it) across every traced process: the "
                       "command (`srun`/front end) and every task or node-step process, `strace -f`.")
    body = [report.row([MODE_TITLE[r[0]], r[1], r[2], r[3], r[4], r[5], r[7], r[9]]) for r in rows]
    return L + report.table(["mode", "nodes", "tasks", "stat", "open", "other", "nodes that stat", "status"],
                            body) + [""]
