"""What every module of bench/lib shares: paths, the modes compared, logging,
medians, number formatting, CSV reading and writing. Standard library only."""
import os
import statistics
import time

LIB = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(LIB))
TC_DIR = os.environ.get("HPCL_TESTCLUSTER_DIR", "/var/lib/hpclaunch-testcluster")
MODES = ["bare", "hpclaunch", "named", "exec", "chrun", "join"]
MODE_COLOR = {"bare": "#000000", "hpclaunch": "#0072B2", "named": "#009E73", "exec": "#56B4E9", "chrun": "#E69F00",
              "join": "#D55E00"}
MODE_TITLE = {
    "bare": "bare srun",
    "hpclaunch": "hpclaunch",
    "named": "hpclaunch --name (existing)",
    "exec": "hpclaunch exec (companion)",
    "chrun": "srun ch-run (per rank)",
    "join": "srun ch-run --join",
}

T0 = time.time()


def log(msg):
    print(f"bench: [{time.time() - T0:5.0f} s] {msg}", flush=True)


def median(values):
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def read_csv(path):
    """Rows of a CSV file as dicts (the last column may hold commas)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().splitlines()
    if not lines:
        return []
    keys = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        vals = line.split(",", len(keys) - 1)
        vals += [""] * (len(keys) - len(vals))
        rows.append(dict(zip(keys, vals)))
    return rows


def write_csv(path, header, rows):
    """header: the first line ("a,b,c"); rows: tuples, each value written with str()."""
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(map(str, r)) + "\n")
