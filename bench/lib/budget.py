"""The time budget: each part gets a share of the time left when it starts (what
a part leaves unused rolls on to the next), and a part skips, and records, what
its estimate says does not fit. Trial estimates: runner.Estimator."""
import time

from common import log

RESERVE_S = 20  # plots, summary, cleanup


def fits(ctx, part, what, need, deadline, estimate):
    """True if `need` seconds fit before `deadline`; else records the skip of `what`
    ("<estimate>, N s left") and logs it."""
    left = deadline - time.time()
    if need <= left:
        return True
    why = f"{estimate}, {max(left, 0):.0f} s left"
    ctx.skipped.append((part, what, why))
    log(f"skip {part} {what}: {why}")
    return False


def run_parts(ctx, parts):
    """Runs the selected parts (modules of parts/, in registry order), each with
    its share of the time left as its deadline; a part that raises is noted and
    the next one runs."""
    todo = [p for p in parts if p.NAME in ctx.parts]
    for i, part in enumerate(todo):
        share = part.SHARE / sum(p.SHARE for p in todo[i:])
        deadline = time.time() + max(ctx.left(), 0) * share
        log(f"part {part.NAME}: {deadline - time.time():.0f} s")
        start = time.time()
        try:
            part.run(ctx, deadline)
        except Exception as e:  # keep the other parts' results
            ctx.notes.append(f"part {part.NAME} stopped: {type(e).__name__}: {e}")
            log(f"part {part.NAME} stopped: {type(e).__name__}: {e}")
        log(f"part {part.NAME} done in {time.time() - start:.0f} s")
    for p in parts:
        if p.NAME not in ctx.parts:
            ctx.skipped.append((p.NAME, "whole part", "not selected (--parts)"))
