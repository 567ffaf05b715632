"""The Slurm test cluster as the benchmarks see it: its environment file, its
config values, Slurm commands, the fake nodes' holder processes."""
import glob
import os
import subprocess
import sys

from common import TC_DIR


def cluster_env():
    """SLURM_CONF, HPCL_TESTCLUSTER_* and OMPI_MCA_* from the test cluster's env file."""
    env_file = os.path.join(TC_DIR, "env")
    out = subprocess.run(["bash", "-c", f"set -a; source {env_file}; env -0"], check=True,
                         capture_output=True).stdout.decode()
    env = {}
    for item in out.split("\0"):
        k, _, v = item.partition("=")
        if k.startswith(("SLURM_CONF", "HPCL_TESTCLUSTER_", "OMPI_MCA_")):
            env[k] = v
    if "SLURM_CONF" not in env:
        sys.exit(f"bench: {env_file} does not set SLURM_CONF; is the test cluster up?")
    return env


def conf_value(slurm_conf, conf, key):
    """KEY=VALUE from the file `conf` next to slurm.conf (case-insensitive key), or None."""
    path = os.path.join(os.path.dirname(slurm_conf), conf)
    try:
        for line in open(path):
            k, _, v = line.strip().partition("=")
            if k.strip().lower() == key.lower():
                return v.strip()
    except OSError:
        pass
    return None


def slurm(slurm_conf, *argv):
    """Runs a Slurm command (as root) against the test cluster; returns the CompletedProcess."""
    return subprocess.run(list(argv), env=dict(os.environ, SLURM_CONF=slurm_conf), capture_output=True, text=True)


def node_holders():
    """(node, pid) of every fake node's namespace holder process."""
    for pidfile in glob.glob(os.path.join(TC_DIR, "run", "holder.node*.pid")):
        node = os.path.basename(pidfile).split(".")[1]
        try:
            pid = open(pidfile).read().split()[0]
        except (OSError, IndexError):
            continue
        yield node, pid
