"""Part: one machine, no Slurm (issue 11's fast path: no node step, the front end
starts the holder itself). `-n 4 /bin/true` and MPI hello -n 4 under hpclaunch,
into a named container, and bare `mpirun`, interleaved, timed by runner.py as the
test user on this host (local.csv)."""
import json
import os
import shutil
import time

import report
import runner
from common import fmt, median, read_csv

NAME = "local"
SHARE = 0.06
MODES = ["bare", "hpclaunch", "named"]
TITLE = {"bare": "bare mpirun", "hpclaunch": "hpclaunch", "named": "hpclaunch --name (existing)"}
PRIORS = {"true": {m: [0.1, 0.01, 1] for m in MODES}, "hello": {m: [0.5, 0.02, 1] for m in MODES}}
TASKS = 4


def modes(ctx, prog):
    w, img = ctx.work, ctx.image
    host, inside = {"true": ("/bin/true", "true"), "hello": (f"{w}/bin/hello", "hello")}[prog]
    n = ["-n", str(TASKS)]
    return [["bare", ["mpirun"] + n + ["--oversubscribe", host]],
            ["hpclaunch", [f"{w}/bin/hpclaunch"] + n + ["--image", img, inside]],
            ["named", [f"{w}/bin/hpclaunch", "--name", "bench-local"] + n + [inside]]]


def run(ctx, deadline):
    runs = 5 if ctx.quick else 15
    hl = f"{ctx.work}/bin/hpclaunch"
    csv = os.path.join(ctx.work, "local.csv")
    cases = []
    for prog in ("true", "hello"):
        case = {"prog": prog, "nodes": 1, "tasks": TASKS, "modes": modes(ctx, prog),
                "setup": [hl, "--name", "bench-local", "-n", "1", "--image", ctx.image, "true"],
                "teardown": [hl, "stop", "bench-local"]}
        if prog == "hello":
            case["expect_regex"], case["expect_count"] = r"^hello rank=", TASKS
        cases.append(case)
    plan = {"cases": cases, "runs": runs, "min_runs": 3, "timeout": ctx.timeout, "deadline": deadline,
            "logdir": os.path.join(ctx.work, "logs"), "csv": csv, "tag_prefix": ctx.tag_prefix, "priors": PRIORS}
    plan_path = os.path.join(ctx.work, "plans", "local.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    os.chmod(plan_path, 0o644)
    ctx.trial(["/usr/bin/python3", os.path.join(ctx.work, "runner.py"), plan_path], deadline - time.time() + 60,
              "local-runner.log")
    if os.path.exists(csv):
        shutil.copy2(csv, os.path.join(ctx.out, "local.csv"))
        ctx.results[NAME] = tabulate(read_csv(csv))


def tabulate(rows):
    """{(prog, mode): median seconds} and failure counts."""
    table = {}
    for r in rows:
        if r["mode"] in MODES:
            e = table.setdefault((r["prog"], r["mode"]), {"ok": [], "bad": 0})
            if r["status"] == "ok":
                e["ok"].append(float(r["seconds"]))
            else:
                e["bad"] += 1
    for e in table.values():
        e["median"] = median(e["ok"])
    return table


def medians(ctx, prog, mode):
    t = ctx.results.get(NAME, {})
    return t.get((prog, mode), {}).get("median"), t.get((prog, "bare"), {}).get("median")


def targets(ctx):
    h, b = medians(ctx, "true", "hpclaunch")
    if h and b:
        ok = h / b <= 2 or h - b <= 0.060
        true_row = report.target("one machine, `-n 4 /bin/true` ≤ 2× bare mpirun (≤ 60 ms added)",
                                 f"{h / b:.2f}× ({h * 1000:.0f} ms vs {b * 1000:.0f} ms, {(h - b) * 1000:+.0f} ms)", ok)
    else:
        true_row = report.not_measured("one machine, `-n 4 /bin/true` ≤ 2× bare mpirun (≤ 60 ms added)")
    h, b = medians(ctx, "hello", "hpclaunch")
    hello_row = (report.target("one machine, MPI hello -n 4 ≤ 1.10× bare mpirun", f"{h / b:.2f}× ({h:.2f} s vs {b:.2f} s)",
                               h / b <= 1.10) if h and b else
                 report.not_measured("one machine, MPI hello -n 4 ≤ 1.10× bare mpirun"))
    return [true_row, hello_row]


def section(ctx):
    table = ctx.results.get(NAME)
    if not table:
        return []
    L = report.heading("One machine", f"No Slurm, `-n {TASKS}`: hpclaunch starts the node's holder itself (no node "
                       "step); median wall time, ratio to bare `mpirun`.")
    rows = []
    for prog in ("true", "hello"):
        b = table.get((prog, "bare"), {}).get("median")
        cells = []
        for m in MODES:
            e = table.get((prog, m))
            med = e["median"] if e else None
            c = f"{fmt(med, 3)} s" if med else "–"
            if med and b and m != "bare":
                c += f" ({med / b:.2f}×)"
            if e and e["bad"]:
                c += f" f {e['bad']}"
            cells.append(c)
        rows.append(report.row(["/bin/true" if prog == "true" else "MPI hello"] + cells))
    return L + report.table(["prog"] + [TITLE[m] for m in MODES], rows) + [""]
