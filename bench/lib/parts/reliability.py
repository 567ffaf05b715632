"""Part: many front-end launches back to back (issue 11: 0 failed launches in
1000, and no node-step restart needed now that the node step is a PMIx client):
/bin/true as 16 ranks on 4 nodes, in allocations of 50 launches (slurmd 22.05
has crashed here after ~380 steps in one job), as many as the budget allows up
to 1000 (reliability.csv: one row per allocation)."""
import os
import time

import report
from common import log, write_csv

NAME = "reliability"
SHARE = 0.15
CHUNK = 50
WANTED = 1000
SECONDS_PER_LAUNCH = 0.6  # a busy 2-core machine, for the budget


def loop_script(ctx, count):
    path = os.path.join(ctx.work, "plans", f"reliability-{count}.sh")
    with open(path, "w") as f:
        f.write(f"""#!/bin/bash
fails=0 restarts=0
for i in $(seq 1 {count}); do
  out=$(timeout -k 5 60 "{ctx.work}/bin/hpclaunch" -n 16 --image "{ctx.image}" true 2>&1)
  code=$?
  grep -q "starting it again" <<<"$out" && restarts=$((restarts + 1))
  if [ "$code" != 0 ]; then fails=$((fails + 1)); echo "FAILED $i $code: $(tail -n 3 <<<"$out" | tr '\\n' ' ')"; fi
done
echo "RESULT launches={count} failures=$fails restarts=$restarts"
""")
    os.chmod(path, 0o755)
    return path


def run(ctx, deadline):
    if ctx.nodes < 4:
        ctx.skipped.append((NAME, "16 ranks on 4 nodes", f"the cluster has {ctx.nodes} nodes"))
        return
    rows = []
    done = 0
    want = 100 if ctx.quick else WANTED
    while done < want:
        n = min(CHUNK, want - done)
        if deadline - time.time() < n * SECONDS_PER_LAUNCH + 20:
            ctx.skipped.append((NAME, f"launches {done + 1}..{want}", "did not fit the budget"))
            break
        argv = ["salloc", "-J", ctx.job_name, "-N4", "-n16", "-t", "10", loop_script(ctx, n)]
        seconds, rc, status, path = ctx.trial(argv, n * 5 + 60, f"reliability-{done}.log")
        out = open(path, errors="replace").read()
        result = [l for l in out.splitlines() if l.startswith("RESULT ")]
        if not result:
            ctx.notes.append(f"reliability: an allocation of {n} launches ended without a result ({status}); see logs/")
            ctx.keep_log(path)
            break
        fields = dict(kv.split("=") for kv in result[-1].split()[1:])
        rows.append((done, fields["launches"], fields["failures"], fields["restarts"], f"{seconds:.1f}"))
        if int(fields["failures"]):
            ctx.keep_log(path)
        done += n
        log(f"reliability: {done} launches, {sum(int(r[2]) for r in rows)} failed")
    if rows:
        write_csv(os.path.join(ctx.out, "reliability.csv"), "first,launches,failures,restarts,seconds", rows)
        ctx.results[NAME] = {k: sum(int(r[i]) for r in rows) for k, i in (("launches", 1), ("failures", 2),
                                                                          ("restarts", 3))}
        ctx.results[NAME]["seconds"] = sum(float(r[4]) for r in rows)


def targets(ctx):
    label = "0 failed launches of 16 ranks on 4 nodes, no node-step restart (of 1000)"
    r = ctx.results.get(NAME)
    if not r:
        return [report.not_measured(label)]
    return [report.target(label, f"{r['failures']} failed, {r['restarts']} restarts in {r['launches']} launches "
                          f"({r['seconds'] / max(r['launches'], 1):.2f} s each)",
                          r["failures"] == 0 and r["restarts"] == 0)]


def section(ctx):
    return []
