"""Part: a short Python MPI job (issue 13): `python3` importing mpi4py and numpy,
one Allreduce, under hpclaunch and bare, from an image that scripts/make-debian-image
builds from Debian packages (python3-mpi4py, python3-numpy; cached in
/var/cache/hpclaunch-tests/, built outside the suite's time). 8 ranks on one
machine (vs bare mpirun) and 32 ranks on 4 nodes (vs bare srun), interleaved;
wall time per run (mpi4py.csv)."""
import os
import subprocess
import time

import report
from common import REPO, fmt, log, median, write_csv

NAME = "mpi4py"
SHARE = 0.10

IMAGE = "/var/cache/hpclaunch-tests/bench-mpi4py.sqsh"
PACKAGES = "python3-mpi4py python3-numpy"
SCRIPT = ("from mpi4py import MPI; import numpy; a = numpy.ones(1 << 16); "
          "MPI.COMM_WORLD.Allreduce(MPI.IN_PLACE, a); print('mpi4py rank=%d sum=%d' % (MPI.COMM_WORLD.rank, a[0]))")
CASES = [("one machine", 1, 8), ("4 nodes", 4, 32)]


def make_image():
    env = dict(os.environ, HPCLAUNCH_IMAGE_PACKAGES=PACKAGES)
    subprocess.run([os.path.join(REPO, "scripts", "make-debian-image"), IMAGE], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def modes(ctx, nodes, tasks):
    hl = f"{ctx.work}/bin/hpclaunch"
    py = ["python3", "-c", SCRIPT]
    if nodes == 1:  # outside Slurm: hpclaunch without a node step, bare mpirun
        return [("bare", ["mpirun", "-n", str(tasks), "--oversubscribe"] + py),
                ("hpclaunch", [hl, "-n", str(tasks), "--image", IMAGE] + py)]
    alloc = ["salloc", "-J", ctx.job_name, "-N", str(nodes), "-n", str(tasks), "-t", "5"]
    per_node = f"--ntasks-per-node={tasks // nodes}"
    return [("bare", alloc + ["srun", "-N", str(nodes), "-n", str(tasks), per_node, "--mpi=pmix"] + py),
            ("hpclaunch", alloc + [hl, "-N", str(nodes), "-n", str(tasks), per_node, "--image", IMAGE] + py)]


def run(ctx, deadline):
    try:
        make_image()
    except subprocess.CalledProcessError as e:
        ctx.skipped.append((NAME, "whole part", f"the mpi4py image could not be built ({e})"))
        return
    runs = 3 if ctx.quick else 5
    rows, table = [], {}
    for label, nodes, tasks in CASES:
        if deadline - time.time() < 30:
            ctx.skipped.append((NAME, label, "no time left"))
            continue
        walls = {}
        for run_no in range(1, runs + 1):
            for mode, argv in modes(ctx, nodes, tasks):
                secs, rc, status, path = ctx.trial(argv, ctx.timeout, f"mpi4py.{nodes}.{mode}.{run_no}.log")
                lines = sum(1 for line in open(path, errors="replace") if line.startswith("mpi4py rank="))
                if status == "ok" and lines != tasks:
                    status = "fail"
                if status != "ok":
                    ctx.keep_log(path)
                rows.append((label, nodes, tasks, mode, run_no, f"{secs:.3f}", status))
                if status == "ok":
                    walls.setdefault(mode, []).append(secs)
        table[label] = {m: median(v) for m, v in walls.items()}
        log(f"mpi4py {label} {tasks} ranks: " + " ".join(f"{m}={fmt(v)}" for m, v in table[label].items()))
    write_csv(os.path.join(ctx.out, "mpi4py.csv"), "case,nodes,tasks,mode,run,seconds,status", rows)
    ctx.results[NAME] = table


def targets(ctx):
    t = ctx.results.get(NAME, {})
    out = []
    for label, limit, what in (("one machine", 1.15, "mpi4py + numpy, 8 ranks on one machine ≤ 1.15× bare mpirun"),
                               ("4 nodes", 1.10, "mpi4py + numpy, 32 ranks on 4 nodes ≤ 1.10× bare srun")):
        b, h = t.get(label, {}).get("bare"), t.get(label, {}).get("hpclaunch")
        if b and h:
            out.append(report.target(what, f"{h / b:.2f}× ({h:.2f} s vs {b:.2f} s)", h / b <= limit))
        else:
            out.append(report.not_measured(what))
    return out


def section(ctx):
    t = ctx.results.get(NAME)
    if not t:
        return []
    L = report.heading("mpi4py + numpy", "`python3 -c 'from mpi4py import MPI; import numpy; ...Allreduce'` from a "
                       "Debian image (python3-mpi4py, python3-numpy); median wall time.")
    rows = []
    for label, nodes, tasks in CASES:
        e = t.get(label)
        if not e:
            continue
        b, h = e.get("bare"), e.get("hpclaunch")
        rows.append(report.row([label, tasks, f"{fmt(b)} s" if b else "–",
                                f"{fmt(h)} s ({h / b:.2f}×)" if b and h else (f"{fmt(h)} s" if h else "–")]))
    return L + report.table(["case", "ranks", "bare", "hpclaunch"], rows) + [""]
