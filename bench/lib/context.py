"""The state every part works with: the options, the test cluster's environment
and user, the staging dir (filled in by staging.stage), trials run as the test
user, and what the run collects for summary.md (skips, notes, results)."""
import os
import pwd
import time

import budget
import cluster
import runner


class Context:
    def __init__(self, args, part_names):
        self.args = args
        self.quick = args.quick
        self.t0 = time.time()
        self.deadline = self.t0 + args.budget * 60 - budget.RESERVE_S
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        self.parts = args.parts.split(",") if args.parts else list(part_names)
        self.skipped = []  # (part, what, why)
        self.notes = []
        self.results = {}  # filled by the parts for the summary: {part name: ...}
        self.load_start = os.getloadavg()
        self.env = cluster.cluster_env()
        self.user = self.env.get("HPCL_TESTCLUSTER_USER", "hltest")
        self.pw = pwd.getpwnam(self.user)
        self.nodes = int(self.env.get("HPCL_TESTCLUSTER_NODES", "4"))
        self.timeout = 60 if self.quick else 120
        # Single-node parts run every mode on the same node: the last one, which
        # other users' -N1 jobs reach last.
        self.one_node = f"node{self.nodes}"
        self.work = None  # the staging dir; staging.stage() sets it and the rest below
        self.job_name = self.tag_prefix = self.image = None
        self.nodelocal = self.spool_parent = None
        self.ch_binds = []

    def user_env(self, extra=None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.pw.pw_dir, "USER": self.user,
               "LOGNAME": self.user, "LANG": "C.UTF-8"}
        env.update({k: v for k, v in self.env.items() if k == "SLURM_CONF" or k.startswith("OMPI_MCA_")})
        env["OMPI_MCA_mpi_yield_when_idle"] = "1"  # every mode alike
        env.update(extra or {})
        return env

    def as_user(self, argv, extra_env=None):
        env = self.user_env(extra_env)
        return ["runuser", "-u", self.user, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + argv

    def trial(self, argv, timeout, log_name, extra_env=None):
        """Runs argv as the test user, output to the staging dir's logs/log_name.
        Returns (seconds, rc, status, log path); status is ok, fail or timeout."""
        # No trial runs far past the whole budget (a hang is cut short).
        timeout = min(timeout, max(15, self.deadline + budget.RESERVE_S - 5 - time.time()))
        path = os.path.join(self.work, "logs", log_name)
        return runner.run_trial(self.as_user(argv, extra_env), timeout, path, cwd=self.work) + (path,)

    def left(self):
        return self.deadline - time.time()

    def sl(self, *argv):
        return cluster.slurm(self.env["SLURM_CONF"], *argv)

    def conf_value(self, conf, key):
        return cluster.conf_value(self.env["SLURM_CONF"], conf, key)

    def keep_log(self, path):
        """Copies (the tail of) a failed trial's log into OUT/logs."""
        dest = os.path.join(self.out, "logs")
        os.makedirs(dest, exist_ok=True)
        if len(os.listdir(dest)) >= 60:
            return
        try:
            data = open(path, "rb").read()[-20000:]
            open(os.path.join(dest, os.path.basename(path)), "wb").write(data)
        except OSError:
            pass
