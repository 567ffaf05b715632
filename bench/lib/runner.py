#!/usr/bin/env python3
"""Runs timed trials with a timeout each; Python 3 standard library only.

Used two ways:
  * imported by context.py (root) for single trials: run_trial(); the parts
    use its Estimator for their own budget decisions;
  * run as the test user inside one Slurm allocation for the launch-scaling
    part:  python3 runner.py PLAN.json   (salloc ... python3 runner.py plan.json)
    It runs the plan's cases in order, each `runs` times with the modes
    interleaved (run 1 of every mode, then run 2, ...), and appends one CSV row
    per trial to the plan's csv file as it goes (a killed runner leaves every
    finished row). A case whose estimated cost does not fit before the plan's
    deadline is skipped (one row with status=skipped and the reason).

A trial fails when it exits non-zero, runs past its timeout (status timeout:
the command's process group gets SIGTERM, then SIGKILL 10 s later) or, when
the case says so, prints a different number of lines matching `expect_regex`
than `expect_count`. A case may have `setup` and `teardown` commands, run once
before and after its trials and not timed (a named container to launch into).
"""
import json
import os
import re
import select
import signal
import statistics
import subprocess
import sys
import time


def run_trial(argv, timeout, log_path, env=None, cwd=None):
    """Runs argv with stdout+stderr to log_path. Returns (seconds, rc, status)."""
    with open(log_path, "wb") as log:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)
        # Popen.wait(timeout) polls with sleeps of up to 50 ms: a 60 ms launch
        # would read as 50 or 100. A pidfd says the moment the child exits.
        pidfd = os.pidfd_open(proc.pid)
        try:
            ready, _, _ = select.select([pidfd], [], [], timeout)
        finally:
            os.close(pidfd)
        seconds = time.monotonic() - start
        if ready:
            rc = proc.wait()
            return seconds, rc, ("ok" if rc == 0 else "fail")
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        return seconds, proc.returncode, "timeout"


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def count_matching(path, regex):
    pattern = re.compile(regex)
    with open(path, "rb") as f:
        return sum(1 for line in f if pattern.search(line.decode("utf-8", "replace")))


# ---------------------------------------------------------------------------
# Launch plans (run inside the allocation)

class Estimator:
    """Predicts a trial's seconds: a prior a + b * tasks^p per (prog, mode),
    times the ratio measured/prior of the latest case of the same prog and
    mode, else of the prog's bare mode, else of the latest case of anything
    (how slow the machine is right now). `scale` round-trips through JSON."""

    def __init__(self, priors, scale=None):
        self.priors = priors  # {prog: {mode: [a, b, p]}}
        self.scale = dict(scale or {})  # {"prog|mode": ratio, "*": ratio}

    def prior(self, prog, mode, tasks):
        table = self.priors.get(prog, {})
        a, b, p = table.get(mode) or table.get("bare") or [1.0, 0.01, 1.0]
        return a + b * tasks ** p

    def predict(self, prog, mode, tasks):
        s = self.scale.get(f"{prog}|{mode}") or self.scale.get(f"{prog}|bare") or self.scale.get("*") or 1.0
        return self.prior(prog, mode, tasks) * max(s, 0.5)

    def learn(self, prog, mode, tasks, seconds):
        self.scale[f"{prog}|{mode}"] = self.scale["*"] = seconds / self.prior(prog, mode, tasks)


def run_plan(plan):
    est = Estimator(plan["priors"], plan.get("scale"))
    deadline = plan["deadline"]
    logdir = plan["logdir"]
    os.makedirs(logdir, exist_ok=True)
    csv_path = plan["csv"]
    new = not os.path.exists(csv_path)
    out = open(csv_path, "a", buffering=1)
    if new:
        out.write("prog,nodes,tasks,mode,run,seconds,status,rc,note\n")
    tag_counter = 0
    for case in plan["cases"]:
        prog, nodes, tasks = case["prog"], case["nodes"], case["tasks"]
        modes = case["modes"]  # [[mode, argv], ...]
        timeout = case.get("timeout", plan["timeout"])

        def round_estimate():
            return sum(min(est.predict(prog, m, tasks), timeout) for m, _ in modes)

        need = plan["min_runs"] * round_estimate()
        left = deadline - time.time()
        if need > left:
            reason = f"estimated {need:.0f} s for {plan['min_runs']} runs, {max(left, 0):.0f} s left in the budget"
            out.write(f"{prog},{nodes},{tasks},all,0,,skipped,,{reason}\n")
            print(f"bench: skip {prog} N={nodes} n={tasks}: {reason}", flush=True)
            continue
        times = {m: [] for m, _ in modes}
        runs_done = 0
        for step in ("setup",):
            if case.get(step):
                run_trial(case[step], timeout, os.path.join(logdir, f"{prog}.N{nodes}.n{tasks}.{step}.log"))
        for run in range(1, plan["runs"] + 1):
            # Past the deadline, stop even below min_runs: the budget wins.
            if run > 1 and round_estimate() > deadline - time.time():
                out.write(f"{prog},{nodes},{tasks},all,{run},,skipped,,runs {run}..{plan['runs']} did not fit "
                          f"the budget (estimated {round_estimate():.0f} s per run)\n")
                break
            for mode, argv in modes:
                tag_counter += 1
                argv = [w.replace("@TAG@", f"{plan['tag_prefix']}{tag_counter}") for w in argv]
                log = os.path.join(logdir, f"{prog}.N{nodes}.n{tasks}.{mode}.{run}.log")
                seconds, rc, status = run_trial(argv, timeout, log)
                note = ""
                if status == "ok" and case.get("expect_regex"):
                    got = count_matching(log, case["expect_regex"])
                    if got != case["expect_count"]:
                        status, note = "fail", f"{got} of {case['expect_count']} output lines"
                elif status == "timeout":
                    note = f"timeout {timeout} s"
                if status == "ok":
                    times[mode].append(seconds)
                out.write(f"{prog},{nodes},{tasks},{mode},{run},{seconds:.4f},{status},{rc},{note}\n")
            runs_done = run
        if case.get("teardown"):
            run_trial(case["teardown"], timeout, os.path.join(logdir, f"{prog}.N{nodes}.n{tasks}.teardown.log"))
        for mode, _ in modes:
            if times[mode]:
                est.learn(prog, mode, tasks, statistics.median(times[mode]))
        summary = " ".join(f"{m}={statistics.median(t):.2f}" if t else f"{m}=-" for m, t in times.items())
        print(f"bench: {prog} N={nodes} n={tasks} ({runs_done} runs): {summary}", flush=True)
    out.close()
    if plan.get("scale_out"):
        with open(plan["scale_out"], "w") as f:
            json.dump(est.scale, f)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: runner.py PLAN.json")
    with open(sys.argv[1]) as f:
        run_plan(json.load(f))
