#!/usr/bin/env bash
# The same 13,112-byte page served by our gateway, tftpd-hpa and libcoap (block size 512), measured
# side by side in one run. Installs what it needs with apt; needs root (cgroups, network namespaces).
#   bench/compare.sh [RUNS]          RUNS single transfers per program (default 30)
# Environment: LOSS_RUNS_OURS (default 200) and LOSS_RUNS_THEIRS (default 80) transfers per program
# under each loss rate; LOSS_RATES (default "10 30", percent per datagram, each way); SKIP_LOSS=1.
#
# Measures, per program:
#   (1) one transfer as a whole process, client start to file written: median and p95 of RUNS;
#       for ours also the protocol part, first SYN to last segment, from the client's own log;
#   (2) 200 transfers one after the other; (3) 50 at once: wall time, and the server's CPU time per
#       transfer from its cgroup (tftpd forks a process per transfer: the cgroup counts them too);
#   (4) under loss, inside a network namespace of its own where nftables drops UDP datagrams at
#       random (numgen), so it applies to every port a server answers from: median and p95
#       completion time of the transfers that succeed, and the failures;
# then the ratios ours / theirs and the network's floor (28 UDP round trips, 12 and 524 bytes).
set -euo pipefail
runs=${1:-30}
loss_rates=${LOSS_RATES:-10 30}
loss_runs_ours=${LOSS_RUNS_OURS:-200}
loss_runs_theirs=${LOSS_RUNS_THEIRS:-80}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/servers.sh
source "$root/bench/servers.sh"

if [ "$(id -u)" -ne 0 ]; then echo "bench/compare.sh: needs root (cgroups, network namespaces, nftables)" >&2; exit 1; fi
install_missing nft:nftables ip:iproute2
build_programs
dotnet build -c Release "$root/bench/Anon.LoadGenerator" -v quiet -nologo >/dev/null

work=$(mktemp -d)
pids=()
namespaces=()
cgroups=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "${namespaces[@]}"; do ip netns delete "$ns" 2>/dev/null || true; done
    for group in "${cgroups[@]}"; do # what the servers forked is in their groups too
        xargs -r kill < "$group/cgroup.procs" 2>/dev/null || true
    done
    sleep 0.3
    for group in "${cgroups[@]}"; do rmdir "$group" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
# A cgroup per server, to read its CPU time: cgroup v2 where it is the only hierarchy, else v1's cpuacct.
cgroup_for() { # NAME PID: prints the group's directory
    local dir
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then dir=/sys/fs/cgroup/anonbench-$$-$1; else dir=/sys/fs/cgroup/cpuacct/anonbench-$$-$1; fi
    mkdir -p "$dir" && echo "$2" > "$dir/cgroup.procs"
    echo "$dir"
}
cpu_us() { if [ -f "$1/cpu.stat" ]; then awk '/^usage_usec/ {print $2}' "$1/cpu.stat"; else echo $(( $(cat "$1/cpuacct.usage") / 1000 )); fi; }

fetch() { # PROGRAM N: one transfer into $work/out.N
    case $1 in
        # --linger 0: the fetch itself; the default linger keeps the process 500 ms more, after the file and the LED.
        ours) "$aot/anonclient" -s 127.0.0.1 -p "$ours_port" -l "$work/client.$2.log" -f "$work/out.$2" --linger 0 >/dev/null ;;
        tftp) tftp -m binary 127.0.0.1 "$tftp_port" -c get LIGHTON_COMMAND "$work/out.$2" ;;
        coap) coap-client-notls -m get -b 512 -o "$work/out.$2" "coap://127.0.0.1:$coap_port/example_data" ;;
    esac
}
# Clock readings from bash itself ($EPOCHREALTIME, microseconds): a `date` process per reading
# would add its own start-up to every figure.
now_us() { echo "${EPOCHREALTIME/./}"; }
timed_fetch() { # PROGRAM N: prints "milliseconds ok" (ok: 1 when the file is the page)
    local start end ok=0
    start=$(now_us)
    if timeout 300 bash -c "fetch $1 $2" >/dev/null 2>&1 && cmp -s "$work/out.$2" "$page"; then ok=1; fi
    end=$(now_us)
    echo "$(( (end - start) / 1000 )) $ok"
}
export -f fetch timed_fetch now_us
export aot work page

single() { # PROGRAM: microseconds of each of $runs transfers, one a line
    for _ in $(seq "$runs"); do
        start=${EPOCHREALTIME/./}; fetch "$1" single; end=${EPOCHREALTIME/./}
        cmp -s "$work/out.single" "$page" || { echo "$1: the file differs" >&2; exit 1; }
        echo $(( end - start ))
    done
}
wall() { start=${EPOCHREALTIME/./}; "$@"; end=${EPOCHREALTIME/./}; echo $(( end - start )); }
sequential() { for _ in $(seq 200); do fetch "$1" seq; done; }
concurrent() { seq 50 | xargs -P 50 -I{} bash -c "fetch $1 {}"; for i in $(seq 50); do cmp -s "$work/out.$i" "$page" || { echo "$1: file $i differs" >&2; exit 1; }; done; }
stat() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) {print "- -"} else {printf "%.2f %.2f\n", v[int((NR+1)/2)]/1000, v[int((NR*95+99)/100)]/1000}}'; }

# --- (1) to (3), on this machine's loopback ---
start_servers
export ours_port tftp_port coap_port
declare -A group=([ours]=$(cgroup_for ours "$ours_pid") [tftp]=$(cgroup_for tftp "$tftp_pid") [coap]=$(cgroup_for coap "$coap_pid"))
cgroups+=("${group[@]}") # for the clean-up (cgroup_for runs in a subshell)
declare -A median p95 seq200 conc50 cpu50
for program in ours tftp coap; do
    read -r median[$program] p95[$program] < <(single "$program" | stat)
    seq200[$program]=$(awk "BEGIN {printf \"%.0f\", $(wall sequential "$program") / 1000}")
    before=$(cpu_us "${group[$program]}")
    conc50[$program]=$(awk "BEGIN {printf \"%.0f\", $(wall concurrent "$program") / 1000}")
    cpu50[$program]=$(awk -v a="$before" -v b="$(cpu_us "${group[$program]}")" 'BEGIN {printf "%.3f", (b - a) / 50 / 1000}')
done
read -r true_median true_p95 < <(for _ in $(seq 20); do s=${EPOCHREALTIME/./}; /bin/true; e=${EPOCHREALTIME/./}; echo $(( e - s )); done | stat)
read -r protocol_median protocol_p95 < <(grep -ho 'received [0-9]* bytes in [0-9.]* ms' "$work/client.single.log" | awk '{print $5 * 1000}' | stat)

echo "one machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r), .NET $(dotnet --version)"
printf '%-6s %26s %15s %15s %24s\n' program "one transfer: median p95" "200 in a row" "50 at once" "server CPU per transfer"
for program in ours tftp coap; do
    printf '%-6s %16s ms %6s ms %12s ms %12s ms %21s ms\n' "$program" "${median[$program]}" "${p95[$program]}" "${seq200[$program]}" "${conc50[$program]}" "${cpu50[$program]}"
done
echo "ours, protocol part (first SYN to last segment, from the client's log): median $protocol_median ms, p95 $protocol_p95 ms"
echo "for scale: starting /bin/true takes $true_median ms (median of 20), p95 $true_p95 ms"
for theirs in tftp coap; do
    awk -v a="${median[ours]}" -v b="${median[$theirs]}" -v c="${seq200[ours]}" -v d="${seq200[$theirs]}" -v e="${conc50[ours]}" -v f="${conc50[$theirs]}" \
        -v g="${cpu50[ours]}" -v h="${cpu50[$theirs]}" -v t="$theirs" \
        'BEGIN {printf "ours / %-4s  one transfer %.2f   200 in a row %.2f   50 at once %.2f   server CPU %.2f\n", t, a/b, c/d, e/f, g/h}'
done
dotnet "$root/bench/Anon.LoadGenerator/bin/Release/net10.0/anon-load.dll" floor --runs 200

# --- (4) under loss, in a network namespace per rate ---
[ "${SKIP_LOSS:-0}" = 1 ] && exit 0
for rate in $loss_rates; do
    ns=anonbench-$$-$rate
    ip netns add "$ns"; namespaces+=("$ns")
    ip -n "$ns" link set lo up
    # An address that is not a loopback one: without it, getaddrinfo(AI_ADDRCONFIG) in in.tftpd
    # finds no IPv4 configured and it cannot resolve even 127.0.0.1.
    ip -n "$ns" addr add 10.200.0.1/32 dev lo
    start_servers "$ns"
    export ours_port tftp_port coap_port
    # Every UDP datagram inside the namespace is dropped with probability rate/100 as it arrives:
    # on loopback each one passes the input hook once, so that is the loss in each direction. (A
    # drop on output would fail the sender's sendmsg with EPERM, which no real network does.)
    ip netns exec "$ns" nft -f - <<EOF
table inet anonbench_loss {
    chain input {
        type filter hook input priority 0; policy accept;
        meta l4proto udp numgen random mod 1000 < $((rate * 10)) drop
    }
}
EOF
    printf 'under %s %% loss each way:\n%-6s %10s %12s %12s %10s\n' "$rate" program transfers "median" "p95" failures
    for program in ours tftp coap; do
        # Theirs take seconds to minutes each, so 40 at a time; ours take about a second, and 4 at a
        # time keep the 2 cores from being mostly busy starting client processes, which would
        # inflate the round-trip times our retransmission timers learn from.
        count=$loss_runs_theirs; parallel=40
        [ "$program" = ours ] && { count=$loss_runs_ours; parallel=${LOSS_PARALLEL_OURS:-4}; }
        seq "$count" | sed "s/^/$program-$rate-/" | xargs -P "$parallel" -I{} ip netns exec "$ns" bash -c "timed_fetch $program {}" > "$work/loss-$program-$rate"
        read -r lmedian lp95 < <(awk '$2 == 1 {print $1 * 1000}' "$work/loss-$program-$rate" | stat)
        failures=$(awk '$2 == 0' "$work/loss-$program-$rate" | wc -l)
        printf '%-6s %10s %10s s %10s s %10s\n' "$program" "$count" "$(awk -v v="$lmedian" 'BEGIN {printf "%.2f", v/1000}')" "$(awk -v v="$lp95" 'BEGIN {printf "%.2f", v/1000}')" "$failures"
        eval "loss_median_${program}_$rate=$lmedian; loss_p95_${program}_$rate=$lp95"
    done
    for theirs in tftp coap; do
        eval "a=\$loss_median_ours_$rate b=\$loss_median_${theirs}_$rate c=\$loss_p95_ours_$rate d=\$loss_p95_${theirs}_$rate"
        awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v t="$theirs" 'BEGIN {if (b > 0 && d > 0) printf "ours / %-4s  median %.3f   p95 %.3f\n", t, a/b, c/d}'
    done
done
