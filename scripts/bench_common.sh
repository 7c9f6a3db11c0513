# shellcheck shell=bash
# Shared helpers for scripts/bench-smtp and scripts/bench-pop3 (sourced).
# Everything runs on 127.0.0.1 in a temp dir that is removed on exit; every
# wait is bounded.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
MAILNEST=${MAILNEST:-$BUILD_DIR/mailnest}
# MAILNEST_BASELINE=/path/to/an/older/mailnest: both bench scripts then also
# run that binary, alternating with $MAILNEST run by run (each on its own
# mail root, seeded by itself), and report new/baseline. Used to show what a
# change costs in one invocation, e.g. the LF storage format against the
# CRLF one before it. The config written must be one both binaries accept.
MAILNEST_BASELINE=${MAILNEST_BASELINE:-}
PY=/usr/bin/python3
# Server log level for the run; "info" logs every transaction like a real
# deployment would. BENCH_LOG_LEVEL=warn shows what logging costs.
BENCH_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}

BENCH_TMP=""
MN_PID=""
MN_SMTP_PORT=""
MN_POP3_PORT=""
BASE_PID=""
BASE_SMTP_PORT=""
BASE_POP3_PORT=""

die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# Said here, where the files go, so every exit of both bench scripts says it:
# on ext4 without a journal, files created in the next minutes skip the
# inodes this frees (recently_deleted() in fs/ext4/ialloc.c) and measure slow.
bench_cleanup() {
  stop_baseline
  stop_mailnest
  if [[ -n "$BENCH_TMP" && -d "$BENCH_TMP" && -z "${BENCH_KEEP:-}" ]]; then
    rm -rf "$BENCH_TMP"
    echo "(the temp dir's files are deleted now: on ext4 without a journal, wait ~6 minutes before the next invocation)"
  fi
}

make_bench_tmp() {
  # On the same file system as the build by default: /tmp here is the real
  # disk (ext4), not tmpfs, so fsync costs what it costs. BENCH_TMPDIR to move it.
  BENCH_TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/mailnest-bench.XXXXXX") || die "mktemp failed"
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Builds the binary (and the bench clients) if needed.
ensure_build() {
  if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
    meson setup "$BUILD_DIR" "$ROOT" -Dbench=true >/dev/null || die "meson setup failed"
  fi
  ninja -C "$BUILD_DIR" "$@" >"$BENCH_TMP/build.log" 2>&1 || { tail -20 "$BENCH_TMP/build.log" >&2; die "build failed"; }
}

# write_config OUT.json MAIL_ROOT [extra JSON merged on top]
# Starts from etc/mailnest.json: ports 0 (the ready line tells), fsync on,
# logs into the temp dir. BENCH_HTTP=0 turns the HTTP listener and its
# message index off, to measure the store without them.
write_config() {
  local out=$1 mail_root=$2 extra=${3:-"{}"}
  "$PY" - "$ROOT/etc/mailnest.json" "$out" "$mail_root" "$BENCH_TMP" "$BENCH_LOG_LEVEL" "$extra" "${BENCH_HTTP:-1}" <<'EOF'
import json, sys
src, out, mail_root, tmp, level, extra, http_on = sys.argv[1:]
cfg = json.load(open(src))
def merge(d, s):
    for k, v in s.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict): merge(d[k], v)
        else: d[k] = v
merge(cfg, {"mail_root": mail_root, "log_level": level,
            "smtp": {"port": 0, "listen": "127.0.0.1", "log_file": tmp + "/smtp.log"},
            "pop3": {"port": 0, "listen": "127.0.0.1", "log_file": tmp + "/pop3.log"},
            "http": {"port": 0, "listen": "127.0.0.1", "enabled": http_on == "1"},
            "store": {"fsync": True}})
merge(cfg, json.loads(extra))
json.dump(cfg, open(out, "w"), indent=2)
EOF
}

# start_mailnest CONFIG [BINARY] [NAME]: sets MN_PID, MN_SMTP_PORT, MN_POP3_PORT.
start_mailnest() {
  local config=$1 binary=${2:-$MAILNEST} name=${3:-mailnest}
  local out="$BENCH_TMP/$name.stdout"
  "$binary" --config "$config" >"$out" 2>"$BENCH_TMP/$name.stderr" &
  MN_PID=$!
  local i line
  for ((i = 0; i < 100; i++)); do  # 10 s at most
    line=$(grep -m1 '^mailnest ready' "$out" 2>/dev/null || true)
    [[ -n "$line" ]] && break
    kill -0 "$MN_PID" 2>/dev/null || { cat "$BENCH_TMP/$name.stderr" >&2; MN_PID=""; die "$name exited at start"; }
    sleep 0.1
  done
  [[ -n "$line" ]] || die "mailnest printed no ready line within 10 s"
  # shellcheck disable=SC2034  # read by the scripts that source this file
  MN_SMTP_PORT=$(sed -n 's/.* smtp=[^ ]*:\([0-9]*\).*/\1/p' <<<"$line")
  # shellcheck disable=SC2034
  MN_POP3_PORT=$(sed -n 's/.* pop3=[^ ]*:\([0-9]*\).*/\1/p' <<<"$line")
}

stop_mailnest() {
  [[ -n "$MN_PID" ]] || return 0
  kill -TERM "$MN_PID" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$MN_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$MN_PID" 2>/dev/null || true
  wait "$MN_PID" 2>/dev/null || true
  MN_PID=""
}

# drop_unknown_keys BINARY CONFIG: removes from CONFIG, one at a time, every
# key an older BINARY refuses as unknown (etc/mailnest.json gains keys as
# the code does), so a baseline runs on the same config less what it lacks.
drop_unknown_keys() {
  local binary=$1 config=$2 out key i
  for ((i = 0; i < 50; i++)); do
    out=$("$binary" --check-config --config "$config" 2>&1) && return 0
    key=$(sed -n 's/.*: \([A-Za-z0-9_.]*\): unknown key.*/\1/p' <<<"$out" | head -n 1)
    [[ -n $key ]] || die "baseline refuses the config: $out"
    echo "baseline: dropping config key $key (unknown to it)"
    "$PY" - "$config" "$key" <<'EOF'
import json, sys
path, key = sys.argv[1], sys.argv[2].split(".")
cfg = json.load(open(path))
d = cfg
for k in key[:-1]:
    d = d[k]
del d[key[-1]]
json.dump(cfg, open(path, "w"), indent=2)
EOF
  done
  die "baseline still refuses the config after 50 keys dropped"
}

# start_baseline CONFIG: $MAILNEST_BASELINE with CONFIG; sets BASE_PID,
# BASE_SMTP_PORT, BASE_POP3_PORT (MN_* are left as they were).
start_baseline() {
  local pid=$MN_PID smtp=$MN_SMTP_PORT pop3=$MN_POP3_PORT
  [[ -x "$MAILNEST_BASELINE" ]] || die "MAILNEST_BASELINE=$MAILNEST_BASELINE is not an executable"
  drop_unknown_keys "$MAILNEST_BASELINE" "$1"
  start_mailnest "$1" "$MAILNEST_BASELINE" baseline
  # shellcheck disable=SC2034  # read by the scripts that source this file
  BASE_PID=$MN_PID BASE_SMTP_PORT=$MN_SMTP_PORT BASE_POP3_PORT=$MN_POP3_PORT
  MN_PID=$pid MN_SMTP_PORT=$smtp MN_POP3_PORT=$pop3
}

stop_baseline() {
  [[ -n "$BASE_PID" ]] || return 0
  local pid=$MN_PID
  MN_PID=$BASE_PID
  stop_mailnest
  MN_PID=$pid BASE_PID=""
}

# CPU seconds (user+system) a process has used so far.
proc_cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

now_s() { date +%s.%N; }

# "total steal" CPU ticks of the whole machine so far (/proc/stat). On a VM,
# steal is time the host ran something else on our vCPUs: a run with a lot
# of it measured the host, so bench-smtp prints it next to each rate.
cpu_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $9; exit }' /proc/stat; }
# steal_pct "TOTAL0 STEAL0" "TOTAL1 STEAL1": percent of CPU time stolen between the two readings
steal_pct() { awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[1] - x[1]; printf "%.0f", (t > 0 ? 100 * (y[2] - x[2]) / t : 0) }'; }

# host_idle_note: one line on how this machine's idle vCPUs sleep, printed in
# the bench headers. Under the cpuidle "haltpoll" driver (KVM-style guests)
# guest_halt_poll_ns is how long an idle vCPU polls before it halts; the
# kernel's default is 200000. At 0 every idle moment halts the vCPU, and
# waking a thread on it exits to the host: a pipeline of threads that wake
# each other pays that more than one process serving a socket (measured on
# such a VM: mailnest up to ~10% faster at 200000, smtp-sink less; see
# docs/PERFORMANCE.md). Prints nothing on other machines.
host_idle_note() {
  local driver param=/sys/module/haltpoll/parameters/guest_halt_poll_ns
  driver=$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null) || return 0
  [[ $driver == haltpoll && -r $param ]] || return 0
  echo "host: $(nproc) vCPUs, cpuidle haltpoll, guest_halt_poll_ns=$(cat "$param") (kernel default 200000; 0 = idle vCPUs halt at once)"
}

# median of the numbers given as arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
min_of() { printf '%s\n' "$@" | sort -g | head -1; }
max_of() { printf '%s\n' "$@" | sort -g | tail -1; }

# count_files DIR: regular files directly in DIR (0 if it does not exist)
count_files() { if [[ -d "$1" ]]; then find "$1" -maxdepth 1 -type f | wc -l; else echo 0; fi; }
