"""The report: PNG plots (gnuplot, lib/lines.gp), summary.md (header, targets,
a section per part, skips, notes, files) and the copy of summary.md into
bench/README.md. Each part module supplies its target rows and its section;
this module lays them out."""
import datetime
import os
import re
import subprocess
import time

from common import LIB, MODE_COLOR, REPO, log

README_BEGIN, README_END = "<!-- results:begin -->", "<!-- results:end -->"


# -- plots -------------------------------------------------------------------
def plotdata(ctx):
    """OUT/plotdata, made if missing: the .dat files behind the plots."""
    pd = os.path.join(ctx.out, "plotdata")
    os.makedirs(pd, exist_ok=True)
    return pd


def write_dat(pd, name, comment, lines):
    """Writes plotdata file `name`: the comment line, then one "x y" line each; returns its path."""
    path = os.path.join(pd, name)
    with open(path, "w") as f:
        f.write(comment + "\n" + "".join(line + "\n" for line in lines))
    return path


def plot(ctx, name, title, xl, yl, files, titles, logx=0, logy=0, xbin=0):
    """One line per file; a file named *_<mode>.dat or *_<mode>_N<n>.dat gets the
    mode's colour in every plot (4 nodes dashed)."""
    out = os.path.join(ctx.out, name)
    colors, dashes = [], []
    for path in files:
        words = os.path.basename(path)[:-4].split("_")
        mode = next((w for w in reversed(words) if w in MODE_COLOR), None)
        colors.append(MODE_COLOR.get(mode, "#777777"))
        dashes.append("2" if words[-1] == "N4" and words[0] == "metadata" else "1")
    expr = (f"out='{out}'; ttl='{title}'; xl='{xl}'; yl='{yl}'; logx={logx}; logy={logy}; xbin={xbin}; "
            f"colors='{' '.join(colors)}'; dashes='{' '.join(dashes)}'; "
            f"files='{' '.join(files)}'; titles='{' '.join(titles)}'")
    r = subprocess.run(["gnuplot", "-e", expr, os.path.join(LIB, "lines.gp")], capture_output=True, text=True)
    if r.returncode != 0:
        ctx.notes.append(f"gnuplot failed for {name}: {r.stderr.strip()[:300]}")


# -- markdown pieces for the parts' sections -----------------------------------
def row(cells):
    """A markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(header, rows):
    """A markdown table: the header row, the separator, then `rows` (lines already made)."""
    return [row(header), "|" + "---|" * len(header)] + list(rows)


def heading(title, intro):
    """A part's section start: "## title", then the intro paragraph."""
    return [f"## {title}", "", intro, ""]


def target(label, measured, ok):
    """A row of the targets table; ok None: "–" (nothing to judge)."""
    return row([label, measured, "–" if ok is None else ("met" if ok else "missed")])


def not_measured(label):
    return target(label, "not measured", None)


# -- summary.md ----------------------------------------------------------------
def write_summary(ctx, parts):
    """Writes OUT/summary.md; `parts`: the part modules in registry order. Returns the seconds the run took."""
    elapsed = time.time() - ctx.t0
    L = header(ctx, elapsed)
    L += ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    for p in parts:
        L += p.targets(ctx)
    L.append("")
    for p in parts:
        L += p.section(ctx)
    L += skipped_and_notes(ctx)
    files = sorted(f for f in os.listdir(ctx.out) if f.endswith((".csv", ".png")))
    L.append("Files: " + ", ".join(f"`{f}`" for f in files))
    L.append("")
    with open(os.path.join(ctx.out, "summary.md"), "w") as f:
        f.write("\n".join(L))
    return elapsed


def header(ctx, elapsed):
    L = [f"# hpclaunch benchmarks, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}", ""]
    ver = subprocess.run([os.path.join(REPO, "build", "hpclaunch"), "version"], capture_output=True,
                         text=True).stdout.strip()
    chv = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "charliecloud-runtime"], capture_output=True,
                         text=True).stdout.strip()
    L.append(f"`bench/run{' --quick' if ctx.quick else ''} --budget {ctx.args.budget:g}`: took "
             f"{elapsed / 60:.1f} min; {ver}, Charliecloud {chv}; test cluster of {ctx.nodes} fake nodes on "
             f"{os.cpu_count()} cores; load average {ctx.load_start[0]:.1f} at the start, "
             f"{os.getloadavg()[0]:.1f} at the end (other jobs on this machine make timings noisy).")
    L.append("")
    L.append("Ratios are to bare `srun` in the same run (modes interleaved run by run). Modes: bare `srun`; "
             "`hpclaunch` = front end inside the allocation; `exec` = companion mode `srun hpclaunch exec`; "
             "`ch-run` = `srun ch-run` (one container per rank); `join` = `srun ch-run --join` (unique "
             "`--join-tag` per step).")
    L.append("")
    return L


def skipped_and_notes(ctx):
    L = []
    if ctx.skipped:
        L += ["## Skipped", ""]
        L += [f"- {part}: {what} — {why}" for part, what, why in ctx.skipped]
        L.append("")
    if ctx.notes:
        L += ["## Notes", ""]
        L += [f"- {n}" for n in ctx.notes]
        L.append("")
    return L


def update_readme(ctx):
    """Puts summary.md between the results markers of bench/README.md."""
    path = os.path.join(REPO, "bench", "README.md")
    try:
        text = open(path).read()
    except OSError:
        return
    if README_BEGIN not in text or README_END not in text:
        return
    summary = open(os.path.join(ctx.out, "summary.md")).read()
    summary = re.sub(r"^# .*\n", "", summary, count=1)
    summary = re.sub(r"^(#+) ", r"#\1 ", summary, flags=re.M)  # one level down
    rel = os.path.relpath(ctx.out, os.path.join(REPO, "bench"))
    body = f"{README_BEGIN}\nFrom `{rel}/summary.md`:\n{summary.rstrip()}\n{README_END}"
    text = text[:text.index(README_BEGIN)] + body + text[text.index(README_END) + len(README_END):]
    open(path, "w").write(text)
    log("bench/README.md results updated")
