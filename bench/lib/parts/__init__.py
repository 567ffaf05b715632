"""The benchmark parts, in the order they run (bench/run --parts selects by NAME).

A part is a module with:
  NAME            its name in --parts, ctx.results and ctx.skipped
  SHARE           its share of the time left when it starts (see budget.run_parts)
  run(ctx, deadline)
                  measures (ctx.trial), writes its CSV files and plots to ctx.out,
                  puts what its summary needs into ctx.results[NAME], and records
                  skips in ctx.skipped and oddities in ctx.notes; it must be done
                  by `deadline` (time.time() seconds)
  targets(ctx)    its rows of the summary's targets table ([] if none), written
                  whether or not the part ran ("not measured")
  section(ctx)    its summary.md section as lines ([] if nothing was measured)
To add a part: write parts/<name>.py and add it to ALL (SHAREs are relative
weights: they need not add up to 1).
"""
from parts import holder, launch, local, metadata, mpi4py, pingpong, reliability, storm

ALL = [local, launch, pingpong, storm, mpi4py, metadata, holder, reliability]
NAMES = [p.NAME for p in ALL]
