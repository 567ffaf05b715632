#!/usr/bin/env bash
# tests/cluster/smoke.sh — smoke test of the Slurm test cluster (scripts/testcluster up).
# Runs as root (switches to the test user) or directly as the test user. Exit 0 only if
# every check passes; prints each check's result and the output of failed ones.
set -uo pipefail

TC_ENV=${HPCL_TESTCLUSTER_ENV:-/var/lib/hpclaunch-testcluster/env}
[ -r "$TC_ENV" ] || { echo "smoke: FAIL: $TC_ENV missing: run 'scripts/testcluster up' first"; exit 1; }
# shellcheck disable=SC1090
source "$TC_ENV"
TUSER=${HPCL_TESTCLUSTER_USER:-hltest}
T=120   # seconds per check

if [ "$(id -u)" = 0 ]; then
    id "$TUSER" >/dev/null 2>&1 || { echo "smoke: FAIL: user $TUSER missing"; exit 1; }
    AS=(runuser -u "$TUSER" --)
elif [ "$(id -un)" = "$TUSER" ]; then
    AS=()
else
    echo "smoke: FAIL: run as root or as $TUSER"; exit 1
fi
# what the test user's commands see: the cluster env, nothing of the caller's Slurm job
RUNENV=(env -u SLURM_JOB_ID -u SLURM_JOBID -u SLURM_NODELIST -u SLURM_NTASKS -u SLURM_NNODES
    SLURM_CONF="$SLURM_CONF"
    OMPI_MCA_oob_tcp_if_include="$OMPI_MCA_oob_tcp_if_include"
    OMPI_MCA_btl_tcp_if_include="$OMPI_MCA_btl_tcp_if_include"
    OMPI_MCA_plm_slurm_args=--overlap OMPI_MCA_mpi_yield_when_idle=1)

W=$(mktemp -d /tmp/hl-smoke.XXXXXX) || exit 1
chmod 0755 "$W"
[ ${#AS[@]} -gt 0 ] && chown "$TUSER:" "$W"
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1

fails=0
# fail fast when the cluster cannot run a 2-node job now
usable=$("${RUNENV[@]}" timeout 10 sinfo -h -N -o '%N %t' 2>&1 | sort -u)
if [ "$(grep -cE '^node[0-9]+ (idle|mix|alloc)$' <<<"$usable")" -lt 2 ]; then
    echo "smoke: FAIL: fewer than 2 usable nodes; sinfo says:"
    "${RUNENV[@]}" timeout 10 sinfo -N 2>&1 | sed 's/^/    | /'
    exit 1
fi
pass() { printf 'smoke: ok   %-34s %s\n' "$1" "$2"; }
fail() {
    printf 'smoke: FAIL %-34s %s\n' "$1" "$2"
    [ -s "$W/out" ] && sed 's/^/    | /' "$W/out" | tail -n 30
    [ -s "$W/err" ] && sed 's/^/    ! /' "$W/err" | tail -n 30
    fails=$((fails + 1))
}
# run CMD as the test user in $W with a timeout; stdout to $W/out, stderr to $W/err;
# sets rc, secs
run() {
    local t0; t0=$(date +%s.%N)
    timeout -k 5 "$T" "${AS[@]}" "${RUNENV[@]}" "$@" >"$W/out" 2>"$W/err"
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1fs", b - a}')
}

# MPI ranks: "rank R size S host H sum X" lines -> checks 4 ranks, size 4, 2 hosts, sum 6
check_mpi() { # NAME
    local ranks sizes hosts sums
    ranks=$(awk '$1 == "rank" {print $2}' "$W/out" | sort -n | tr '\n' ' ')
    sizes=$(awk '$1 == "rank" {print $4}' "$W/out" | sort -u | tr '\n' ' ')
    hosts=$(awk '$1 == "rank" {print $6}' "$W/out" | sort -u | tr '\n' ' ')
    sums=$(awk '$1 == "rank" {print $8}' "$W/out" | sort -u | tr '\n' ' ')
    if [ "$rc" -ne 0 ]; then fail "$1" "exit status $rc"
    elif [ "$ranks" != "0 1 2 3 " ]; then fail "$1" "ranks '$ranks', want '0 1 2 3'"
    elif [ "$sizes" != "4 " ]; then fail "$1" "sizes '$sizes', want 4"
    elif [ "$sums" != "6 " ]; then fail "$1" "allreduce sums '$sums', want 6"
    elif ! [[ $hosts =~ ^node[0-9]+\ node[0-9]+\ $ ]]; then fail "$1" "hosts '$hosts', want 2 nodes"
    else pass "$1" "4 ranks on $hosts($secs)"; fi
}

# --- 1. srun -N2 -n4 hostname ----------------------------------------------------------
run srun -N2 -n4 hostname
hosts=$(sort -u "$W/out" | tr '\n' ' ')
if [ "$rc" -ne 0 ]; then fail "srun -N2 -n4 hostname" "exit status $rc"
elif [ "$(grep -c . "$W/out")" -ne 4 ]; then fail "srun -N2 -n4 hostname" "want 4 lines"
elif ! [[ $hosts =~ ^node[0-9]+\ node[0-9]+\ $ ]]; then fail "srun -N2 -n4 hostname" "hosts '$hosts'"
else pass "srun -N2 -n4 hostname" "$hosts($secs)"; fi

# --- 2. sbatch --wait -N2 with srun inside, output to a dir of the test user -------------
mkdir -p "$W/batch" && [ ${#AS[@]} -gt 0 ] && chown "$TUSER:" "$W/batch"
cat >"$W/job.sh" <<'EOF'
#!/bin/bash
echo "batch-host $(hostname)"
srun -N2 -n4 hostname | sed 's/^/task-host /'
echo "done ${SLURM_JOB_NUM_NODES}"
EOF
chmod 0755 "$W/job.sh"
run sbatch --wait -N2 -n4 -o "$W/batch/job-%j.out" "$W/job.sh"
bout=$(cat "$W"/batch/job-*.out 2>/dev/null)
thosts=$(awk '$1 == "task-host" {print $2}' <<<"$bout" | sort -u | tr '\n' ' ')
if [ "$rc" -ne 0 ]; then
    echo "$bout" >>"$W/out"; fail "sbatch --wait -N2 (srun inside)" "exit status $rc"
elif [ "$(grep -c '^task-host ' <<<"$bout")" -ne 4 ] || ! [[ $thosts =~ ^node[0-9]+\ node[0-9]+\ $ ]] ||
        ! grep -q '^done 2$' <<<"$bout"; then
    echo "$bout" >>"$W/out"; fail "sbatch --wait -N2 (srun inside)" "unexpected job output"
else pass "sbatch --wait -N2 (srun inside)" "tasks on $thosts($secs)"; fi

# --- 3. MPI via srun --mpi=pmix ------------------------------------------------------------
cat >"$W/mpi_hello.c" <<'EOF'
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int rank, size, sum = 0;
    char host[256];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    gethostname(host, sizeof host);
    printf("rank %d size %d host %s sum %d\n", rank, size, host, sum);
    MPI_Finalize();
    return 0;
}
EOF
[ ${#AS[@]} -gt 0 ] && chown "$TUSER:" "$W/mpi_hello.c"
run mpicc -O1 -o "$W/mpi_hello" "$W/mpi_hello.c"
if [ "$rc" -ne 0 ]; then
    fail "mpicc mpi_hello.c" "exit status $rc"
else
    run srun -N2 -n4 --mpi=pmix ./mpi_hello
    check_mpi "srun -N2 -n4 --mpi=pmix mpi_hello"

    # --- 4. mpirun inside salloc -------------------------------------------------------
    run salloc -N2 -n4 mpirun -n 4 ./mpi_hello
    check_mpi "salloc -N2 -n4 mpirun mpi_hello"
fi

if [ "$fails" -ne 0 ]; then echo "smoke: $fails check(s) FAILED"; exit 1; fi
echo "smoke: all checks passed"
