#!/bin/bash
# Starts a throw-away single-node Slurm cluster (munge + slurmctld + slurmd) as
# root, without systemd, entirely under $BASE, for tests/test_study_slurm.c.
# Records the daemons' PIDs in $BASE/run/*.bgpid (stop_slurm.sh kills exactly
# those). Ports: CTLD_PORT and SLURMD_PORT, so that two test runs on one host
# do not collide. Clients find the cluster with SLURM_CONF=$BASE/etc/slurm.conf.
# Adapted from the reference scripts known to work on these machines.
set -euo pipefail
BASE=${BASE:-${TMPDIR:-/tmp}/xfer-slurm}
NODE=${NODE:-localhost}
CPUS=${CPUS:-$(nproc)}
for tool in munged slurmctld slurmd sinfo; do
  command -v "$tool" >/dev/null || { echo "start_slurm.sh: $tool not found (apt-get install slurm-wlm munge)"; exit 2; }
done
t0=$(date +%s.%N)
mkdir -p "$BASE"/{etc,munge,spool,state,log,run}
chmod 755 "$BASE/munge"   # key itself is 0400; dir must be traversable for non-root job users

# --- munge (own key, own socket; does not touch /etc/munge or /run/munge) ---
KEY=$BASE/munge/munge.key
[ -f "$KEY" ] || { dd if=/dev/urandom of="$KEY" bs=1 count=1024 status=none; chmod 400 "$KEY"; }
SOCK=$BASE/munge/munge.socket.2
munged -F --force --key-file="$KEY" --socket="$SOCK" \
       --pid-file="$BASE/run/munged.pid" --log-file="$BASE/log/munged.log" \
       --seed-file="$BASE/munge/munged.seed" >"$BASE/log/munged.out" 2>&1 &
echo $! > "$BASE/run/munged.bgpid"
for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null
t1=$(date +%s.%N)

# --- slurm.conf ---
cat > "$BASE/etc/slurm.conf" <<CONF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmctldPort=${CTLD_PORT:-16817}
SlurmdPort=${SLURMD_PORT:-16818}
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
MaxArraySize=100001
MaxJobCount=200000
NodeName=$NODE NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$CPUS ${NODE_EXTRA:-} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000
# Needed when the host has no non-loopback address (CI in a net namespace): Slurm's
# IPv4-only default resolves with AF_INET+AI_ADDRCONFIG, which glibc refuses then.
CommunicationParameters=EnableIPv6
${EXTRA_CONF:-}
CONF
[ -n "${GRES_CONF:-}" ] && printf '%s\n' "$GRES_CONF" > "$BASE/etc/gres.conf"
export SLURM_CONF=$BASE/etc/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$BASE/log/slurmctld.out" 2>&1 &
echo $! > "$BASE/run/slurmctld.bgpid"
slurmd -D -N "$NODE" -f "$SLURM_CONF" >"$BASE/log/slurmd.out" 2>&1 &
echo $! > "$BASE/run/slurmd.bgpid"

# wait until the node is idle
st=none
for i in $(seq 150); do
  for d in munged slurmctld slurmd; do
    kill -0 "$(cat "$BASE/run/$d.bgpid")" 2>/dev/null || { echo "$d died"; st=dead; break 2; }
  done
  st=$(timeout 3 sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  [ "$st" = "idle" ] && break
  sleep 0.2
done
t2=$(date +%s.%N)
sinfo
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "munge_up=%.2fs slurm_idle=%.2fs total=%.2fs\n", b-a, c-b, c-a }'
[ "$st" = "idle" ] || { echo "node not idle: $st"; tail -30 "$BASE"/log/*.log; exit 1; }
