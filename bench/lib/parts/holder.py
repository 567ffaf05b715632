"""Part 5, holder cost: `solver` on 16 ranks over 2 nodes under hpclaunch and
companion mode while /proc is sampled for hpclaunch's own processes (holder.csv)."""
import os
import re
import threading
import time

import cluster
import report
from common import MODE_TITLE, log, write_csv

NAME = "holder"
SHARE = 0.08

# (binary, argv[1]) of hpclaunch's own processes -> their role
ROLES = {("hpclaunch-node", "holder"): "holder", ("hpclaunch-node", "step"): "node step",
         ("hpclaunch-node", "companion-holder"): "daemon holder"}


def node_of_netns():
    """{net namespace link: fake node name}."""
    m = {}
    for node, pid in cluster.node_holders():
        try:
            m[os.readlink(f"/proc/{pid}/ns/net")] = node
        except OSError:
            pass
    return m


def role_of(argv):
    """The role of an hpclaunch process from its argv, or None."""
    binary = os.path.basename(argv[0].decode(errors="replace"))
    sub = argv[1].decode(errors="replace") if len(argv) > 1 else ""
    if (binary, sub) in ROLES:
        return ROLES[(binary, sub)]
    return "front end" if binary == "hpclaunch" and sub.startswith("-") else None


def sample_process(pid, uid, prefix, nets, hz):
    """(pid, node, role, rss_kb, cpu) of one of the test user's hpclaunch processes, or None."""
    if os.stat(f"/proc/{pid}").st_uid != uid:
        return None
    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    if not argv or not argv[0].decode(errors="replace").startswith(prefix):
        return None
    stat = open(f"/proc/{pid}/stat").read()
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    role = role_of(argv)
    if role is None:
        return None
    cpu = (int(fields[11]) + int(fields[12])) / hz
    rss = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    node = nets.get(os.readlink(f"/proc/{pid}/ns/net"), "host")
    return int(pid), node, role, rss, cpu


def sample_holders(ctx, mode, stop, samples, t_start):
    """Every 0.5 s until `stop`: appends (mode, t, pid, node, role, rss_kb, cpu_s) to samples."""
    nets = node_of_netns()
    hz = os.sysconf("SC_CLK_TCK")
    prefix = f"{ctx.work}/bin/hpclaunch"
    while not stop.is_set():
        now = time.time() - t_start
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                s = sample_process(pid, ctx.pw.pw_uid, prefix, nets, hz)
            except (OSError, ValueError, IndexError):
                continue
            if s:
                samples.append((mode, f"{now:.2f}", s[0], s[1], s[2], s[3], f"{s[4]:.2f}"))
        stop.wait(0.5)


def solver_time(path):
    for line in open(path, errors="replace"):
        m = re.match(r"^solver: .* time=([\d.]+)s", line)
        if m:
            return float(m.group(1))
    return None


def sampled_run(ctx, mode, argv, deadline, samples):
    """Runs one mode's job while sampling; returns (seconds, status, the solver: line)."""
    stop = threading.Event()
    t_start = time.time()
    th = threading.Thread(target=sample_holders, args=(ctx, mode, stop, samples, t_start), daemon=True)
    th.start()
    secs, rc, status, path = ctx.trial(argv, max(60, 3 * (deadline - time.time())), f"holder.{mode}.log")
    stop.set()
    th.join()
    solver = ""
    for line in open(path, errors="replace"):
        if line.startswith("solver:"):
            solver = line.strip()
    if status != "ok":
        ctx.keep_log(path)
    return secs, status, solver


def run(ctx, deadline):
    w, img = ctx.work, ctx.image
    if deadline - time.time() < 30:
        ctx.skipped.append((NAME, "holder cost", f"{max(deadline - time.time(), 0):.0f} s left"))
        return
    front = ["salloc", "-J", ctx.job_name, "-N2", "-n16", "--ntasks-per-node=8", f"{w}/bin/hpclaunch", "-n",
             "16", "--ntasks-per-node", "8", "--image", img, "solver", "--report", "0", "--steps"]
    comp = ["srun", "-J", ctx.job_name, "-N2", "-n16", "--ntasks-per-node=8", f"{w}/bin/hpclaunch", "exec",
            "--image", img, "solver", "--report", "0", "--steps"]
    # Calibration: solver steps per second now (it varies a lot with the load).
    secs, rc, status, path = ctx.trial(front + ["100"], 120, "holder.calibrate.log")
    solver_s = solver_time(path)
    if status != "ok" or not solver_s:
        ctx.notes.append(f"holder: the calibration run failed ({status}); see logs/")
        ctx.keep_log(path)
        return
    per_mode = (deadline - time.time() - 2 * (secs - solver_s)) / 2
    steps = int(min(20000, max(100, 100 / solver_s * per_mode * 0.6)))
    samples, walls = [], {}
    for mode, argv in (("hpclaunch", front + [str(steps)]), ("exec", comp + [str(steps)])):
        if deadline - time.time() < 8:
            ctx.skipped.append((NAME, mode, "no time left"))
            continue
        walls[mode] = sampled_run(ctx, mode, argv, deadline, samples)
        log(f"holder {mode}: {steps} steps, {walls[mode][0]:.1f} s, {walls[mode][1]}")
    write_csv(os.path.join(ctx.out, "holder.csv"), "mode,t_seconds,pid,node,role,rss_kb,cpu_seconds", samples)
    summary = {}
    for mode, t, pid, node, role, rss, cpu in samples:
        e = summary.setdefault((mode, role, node, pid), {"rss_max": 0, "cpu": 0.0, "n": 0})
        e["rss_max"] = max(e["rss_max"], rss)
        e["cpu"] = max(e["cpu"], float(cpu))
        e["n"] += 1
    ctx.results[NAME] = {"summary": summary, "walls": walls, "steps": steps}


# -- summary.md ------------------------------------------------------------------
def targets(ctx):
    return []  # no target: the numbers are for reading


def section(ctx):
    h = ctx.results.get(NAME)
    if not h:
        return []
    L = report.heading("Holder cost", f"`solver --steps {h['steps']}` on 16 ranks, 2 nodes; processes sampled every "
                       "0.5 s (RSS from /proc/PID/status, CPU = utime + stime).")
    rows = []
    for (mode, role, node, pid), e in sorted(h["summary"].items()):
        wall = h["walls"].get(mode, (0, "", ""))[0]
        rows.append(report.row([MODE_TITLE[mode], role, node, f"{e['rss_max'] / 1024:.1f}", f"{e['cpu']:.2f}",
                                f"{wall:.1f}"]))
    L += report.table(["mode", "process", "node", "max RSS (MiB)", "CPU (s)", "run wall (s)"], rows)
    for mode, (secs, status, solver) in h["walls"].items():
        if solver or status != "ok":
            L += ["", f"{MODE_TITLE[mode]}: {status}{'; ' + solver if solver else ''}"]
    return L + [""]
