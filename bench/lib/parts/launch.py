"""Part 1, launch scaling: wall time from command to exit of /bin/true and MPI
hello in every mode, timed by runner.py inside one allocation per case
(launch.csv, launch_summary.csv, launch_<prog>_N<nodes>.png)."""
import json
import math
import os
import shutil
import time

import budget
import report
import runner
from common import MODE_TITLE, MODES, fmt, log, median, read_csv

NAME = "launch"
SHARE = 0.45

# Launch priors (seconds on an idle machine): a + b * tasks^p per prog and mode.
PRIORS = {
    "true": {"bare": [0.25, 0.003, 1], "hpclaunch": [0.45, 0.006, 1], "named": [0.3, 0.003, 1],
             "exec": [0.3, 0.006, 1],
             "chrun": [0.3, 0.012, 1], "join": [0.35, 0.015, 1]},
    # MPI_Init is CPU-bound on 2 cores: 128 ranks took 42 s bare.
    "hello": {"bare": [0.8, 2.27e-4, 2.5], "hpclaunch": [1.0, 2.7e-4, 2.5], "exec": [1.0, 2.7e-4, 2.5],
              "chrun": [1.0, 2.7e-4, 2.5], "join": [1.0, 2.7e-4, 2.5]},
}


def modes(ctx, prog, nodes, tasks):
    """[[mode, argv], ...] of one case (the runner replaces @TAG@ by a unique --join tag)."""
    w, img = ctx.work, ctx.image
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
        # A launch into the named container the case's setup made: only the app step.
        ["named", [f"{w}/bin/hpclaunch", "--name", "bench", "-N", str(nodes), "-n", str(tasks), per_node, inside]],
        ["exec", srun + [f"{w}/bin/hpclaunch", "exec", "--image", img, inside]],
        ["chrun", srun + ["ch-run"] + ctx.ch_binds + [img, "--", absolute]],
        ["join", srun + ["ch-run", "--join-tag=@TAG@"] + ctx.ch_binds + [img, "--", absolute]],
    ]


def wanted_cases(quick, est):
    """(prog, nodes, tasks) in the order they run."""
    if quick:  # the cases of the targets first
        return [("true", 2, 16), ("hello", 2, 16), ("true", 2, 256), ("true", 4, 16)]
    wanted = [(p, n, t) for n in (2, 4) for p, ts in (("true", (16, 64, 128, 256, 512)),
                                                        ("hello", (16, 64, 128))) for t in ts]
    wanted.sort(key=lambda c: sum(est.prior(c[0], m, c[2]) for m in MODES))  # cheapest first
    return wanted


def run(ctx, deadline):
    runs = 3 if ctx.quick else 5
    est = runner.Estimator(PRIORS)
    csv = os.path.join(ctx.work, "launch.csv")
    for prog, nodes, tasks in wanted_cases(ctx.quick, est):
        what = f"{prog} N={nodes} n={tasks}"
        if nodes > ctx.nodes:
            ctx.skipped.append((NAME, what, f"the cluster has {ctx.nodes} nodes"))
            continue
        # The runner decides inside the allocation; skip here what cannot fit at all.
        need = runs * sum(min(est.predict(prog, m, tasks), ctx.timeout) for m in MODES)
        if not budget.fits(ctx, NAME, what, need, deadline, f"estimated {need:.0f} s for {runs} runs"):
            continue
        run_allocation(ctx, est, csv, deadline, runs, (prog, nodes, tasks))
        learn(ctx, est, csv, (prog, nodes, tasks))
    if os.path.exists(csv):
        shutil.copy2(csv, os.path.join(ctx.out, "launch.csv"))
        summarize(ctx, read_csv(csv))


def run_allocation(ctx, est, csv, deadline, runs, key):
    """One salloc running runner.py on the case's plan; its rows go to csv."""
    prog, nodes, tasks = key
    hl = f"{ctx.work}/bin/hpclaunch"
    case = {"prog": prog, "nodes": nodes, "tasks": tasks, "modes": modes(ctx, prog, nodes, tasks),
            "setup": [hl, "--name", "bench", "-N", str(nodes), "-n", str(nodes), "--ntasks-per-node=1", "--image",
                      ctx.image, "true"],
            "teardown": [hl, "stop", "bench"]}
    if prog == "hello":
        case["expect_regex"], case["expect_count"] = r"^hello rank=", tasks
    plan = {"cases": [case], "runs": runs, "min_runs": runs, "timeout": ctx.timeout,
            "deadline": deadline, "logdir": os.path.join(ctx.work, "logs"), "csv": csv,
            "tag_prefix": ctx.tag_prefix + f"{prog}{nodes}x{tasks}-", "priors": PRIORS,
            "scale": est.scale}
    plan_path = os.path.join(ctx.work, "plans", f"launch-{prog}-{nodes}-{tasks}.json")
    with open(plan_path, "w") as f:
        json.dump(plan, f)
    os.chmod(plan_path, 0o644)
    minutes = max(2, math.ceil((deadline - time.time()) / 60) + 2)
    argv = ["salloc", "-J", ctx.job_name, "-N", str(nodes), "-n", str(tasks), "-O", "-t", str(minutes),
            "/usr/bin/python3", os.path.join(ctx.work, "runner.py"), plan_path]
    _, rc, status, path = ctx.trial(argv, deadline - time.time() + 3 * ctx.timeout + 30,
                                    f"launch-runner-{prog}-{nodes}-{tasks}.log")
    out = open(path, errors="replace").read()
    for line in out.splitlines():
        if line.startswith("bench: "):
            print(line, flush=True)
    if status != "ok":
        ctx.notes.append(f"launch {prog} N={nodes} n={tasks}: the allocation's runner ended with {status} "
                         f"(rc {rc}); see logs/")
        ctx.keep_log(path)


def learn(ctx, est, csv, key):
    """Rescales the estimates by what the runner measured for the case; records its skips, keeps failed logs."""
    prog, nodes, tasks = key
    rows = [r for r in read_csv(csv) if r["prog"] == prog and r["nodes"] == str(nodes)
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
            ctx.skipped.append((NAME, f"{prog} N={nodes} n={tasks}", r["note"]))
        elif r["status"] in ("fail", "timeout"):
            ctx.keep_log(os.path.join(ctx.work, "logs", f"{prog}.N{nodes}.n{tasks}.{r['mode']}.{r['run']}.log"))


def tabulate(rows):
    """launch.csv rows -> {(prog, nodes, tasks, mode): {"ok": [s], "fail": n, "timeout": n, "median": s}}."""
    table = {}
    for r in rows:
        if r["mode"] == "all":
            continue
        key = (r["prog"], int(r["nodes"]), int(r["tasks"]), r["mode"])
        e = table.setdefault(key, {"ok": [], "fail": 0, "timeout": 0})
        if r["status"] == "ok":
            e["ok"].append(float(r["seconds"]))
        elif r["status"] in ("fail", "timeout"):
            e[r["status"]] += 1
    for e in table.values():
        e["median"] = median(e["ok"])
    return table


def summarize(ctx, rows):
    table = tabulate(rows)
    with open(os.path.join(ctx.out, "launch_summary.csv"), "w") as f:
        f.write("prog,nodes,tasks,mode,runs,failed,timeouts,median_s,ratio_to_bare\n")
        for key in sorted(table):
            e, (prog, nodes, tasks, mode) = table[key], key
            med = e["median"]
            bare = table.get((prog, nodes, tasks, "bare"), {}).get("median")
            ratio = med / bare if med and bare else None
            f.write(f"{prog},{nodes},{tasks},{mode},{len(e['ok']) + e['fail'] + e['timeout']},{e['fail']},"
                    f"{e['timeout']},{fmt(med, 4)},{fmt(ratio, 3)}\n")
    ctx.results[NAME] = table
    plot(ctx, table)


def plot(ctx, table):
    pd = report.plotdata(ctx)
    for prog in ("true", "hello"):
        for nodes in (2, 4):
            files, titles = [], []
            for mode in MODES:
                pts = sorted((k[2], v["median"]) for k, v in table.items()
                             if k[0] == prog and k[1] == nodes and k[3] == mode and v["median"])
                if not pts:
                    continue
                files.append(report.write_dat(pd, f"launch_{prog}_N{nodes}_{mode}.dat", "# tasks median_seconds",
                                              (f"{t} {s:.4f}" for t, s in pts)))
                titles.append(MODE_TITLE[mode].replace(" ", "_"))
            if files:
                what = "/bin/true tasks" if prog == "true" else "MPI hello ranks"
                report.plot(ctx, f"launch_{prog}_N{nodes}.png", f"Launch wall time, {what} on {nodes} nodes (median)",
                            "tasks" if prog == "true" else "ranks", "seconds", files, titles, logx=1, logy=1)


# -- summary.md ------------------------------------------------------------------
def ratios(ctx, prog, tasks, mode="hpclaunch"):
    """[(nodes, mode/bare, mode median, bare median)] at 2 and 4 nodes, where both were measured."""
    table = ctx.results.get(NAME, {})
    out = []
    for nodes in (2, 4):
        b = table.get((prog, nodes, tasks, "bare"), {}).get("median")
        h = table.get((prog, nodes, tasks, mode), {}).get("median")
        if b and h:
            out.append((nodes, h / b, h, b))
    return out


def ratio_target(ctx, label, prog, tasks, limit, mode="hpclaunch", nodes=(2, 4)):
    rs = [r for r in ratios(ctx, prog, tasks, mode) if r[0] in nodes]
    if not rs:
        return report.not_measured(label)
    txt = "; ".join(f"{r:.2f}× on {n} nodes ({h:.2f} s vs {b:.2f} s)" for n, r, h, b in rs)
    return report.target(label, txt, all(r <= limit for _, r, _, _ in rs))


def targets(ctx):
    L = [ratio_target(ctx, "`/bin/true` 16 tasks ≤ 1.25× bare srun (2 and 4 nodes)", "true", 16, 1.25),
         ratio_target(ctx, "`/bin/true` 256 tasks ≤ 1.15× (2 nodes)", "true", 256, 1.15, nodes=(2,)),
         ratio_target(ctx, "MPI hello 16 ranks ≤ 1.10× (2 and 4 nodes)", "hello", 16, 1.10),
         ratio_target(ctx, "MPI hello 64 ranks ≤ 1.10× (2 and 4 nodes)", "hello", 64, 1.10),
         ratio_target(ctx, "into a named container, `/bin/true` 16 tasks ≤ 1.08× (2 nodes)", "true", 16, 1.08,
                      "named", (2,)),
         ratio_target(ctx, "into a named container, `/bin/true` 256 tasks ≤ 1.05× (2 nodes)", "true", 256, 1.05,
                      "named", (2,))]
    table = ctx.results.get(NAME, {})
    if not table:
        return L + [report.not_measured("0 failed launches")]
    fails = {m: sum(v["fail"] + v["timeout"] for k, v in table.items() if k[3] == m) for m in MODES}
    runs = {m: sum(len(v["ok"]) + v["fail"] + v["timeout"] for k, v in table.items() if k[3] == m)
            for m in MODES}
    others = ", ".join(f"{MODE_TITLE[m]} {fails[m]}/{runs[m]}" for m in ("bare", "chrun", "join"))
    L.append(report.target("0 failed launches (hpclaunch)",
                           f"hpclaunch {fails['hpclaunch']}/{runs['hpclaunch']}, named {fails['named']}/{runs['named']}, "
                           f"exec {fails['exec']}/{runs['exec']} "
                           f"(for comparison: {others})", fails["hpclaunch"] + fails["named"] + fails["exec"] == 0))
    return L


def cell(e, bare, mode):
    if not e:
        return "–"
    n = len(e["ok"]) + e["fail"] + e["timeout"]
    bad = e["fail"] + e["timeout"]
    med = e["median"]
    c = f"{med:.2f} s" if med else "all failed"
    if med and bare and mode != "bare":
        c += f" ({med / bare:.2f}×)"
    if bad:
        c += f" f {bad}/{n}"
    return c


def section(ctx):
    table = ctx.results.get(NAME)
    if not table:
        return []
    L = report.heading("Launch scaling", "Wall time from command to exit inside one allocation (`salloc -N<nodes>`), "
                       "median of the successful runs, ratio to bare; `f` = failed or timed-out runs of all runs.")
    rows = []
    for prog, nodes, tasks in sorted({k[:3] for k in table}, key=lambda k: (k[0] != "true", k[1], k[2])):
        b = table.get((prog, nodes, tasks, "bare"), {}).get("median")
        cells = [cell(table.get((prog, nodes, tasks, m)), b, m) for m in MODES]
        rows.append(report.row(["/bin/true" if prog == "true" else "MPI hello", nodes, tasks] + cells))
    return L + report.table(["prog", "nodes", "tasks"] + [MODE_TITLE[m] for m in MODES], rows) + [""]
