#!/usr/bin/env bash
# Transfer times on loopback, optionally through the lossy relay.
#   bench/loopback.sh [LOSS] [RUNS]     e.g. bench/loopback.sh 0.1 100
# Builds Release, serves LIGHTON_COMMAND from a local web server, starts one gateway, runs the client
# RUNS times (one after the other) through a relay dropping LOSS of the datagrams each way, checks
# every file, and prints medians and 95th percentiles of the protocol time (first SYN to FIN|ACK, from
# the client's log) and of the whole client process (the default 500 ms linger included: add
# --linger 0 to CLIENT_OPTIONS to leave it out), and how the gateway counted the transfers' ends.
set -euo pipefail
loss=${1:-0}
runs=${2:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
dotnet build -c Release "$root/tools/Anon.Lab" -v quiet -nologo >/dev/null
bin="$root/tools/Anon.Lab/bin/Release/net10.0"
# The programs are built beside their own projects (Anon.Lab references both), not into anon-lab's folder.
gateway="$root/src/Anon.Gateway/bin/Release/net10.0/anonGateway"
client="$root/src/Anon.Client/bin/Release/net10.0/anonclient"
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # FILE PATTERN: wait up to 30 s for a line matching PATTERN
    for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "timed out waiting for '$2' in $1" >&2; exit 1
}

"$bin/anon-lab" serve --port 0 > "$work/web.out" 2>&1 & pids+=($!)
wait_for "$work/web.out" "serving"
web=$(grep -o 'http://[0-9.:]*/' "$work/web.out")
"$gateway" -p 0 -l "$work/gateway.log" -w "${web}LIGHTON_COMMAND" > "$work/gateway.out" 2>&1 & pids+=($!)
wait_for "$work/gateway.out" "listening on UDP port"
port=$(grep -o 'UDP port [0-9]*' "$work/gateway.out" | awk '{print $3}')
target=$port
if [ "$loss" != "0" ]; then
    "$bin/anon-lab" relay --gateway "127.0.0.1:$port" --loss "$loss" --seed 7 > "$work/relay.out" 2>&1 & pids+=($!)
    wait_for "$work/relay.out" "relaying"
    target=$(grep -o '127.0.0.1:[0-9]* ->' "$work/relay.out" | cut -d: -f2 | cut -d' ' -f1)
fi

failures=0
for i in $(seq "$runs"); do
    start=$(date +%s%N)
    "$client" -s 127.0.0.1 -p "$target" -l "$work/client.log" -f "$work/out.txt" --timeout 30 ${CLIENT_OPTIONS:-} >/dev/null 2>&1 || failures=$((failures + 1))
    end=$(date +%s%N)
    echo $(( (end - start) / 1000 )) >> "$work/whole.us"
    cmp -s "$work/out.txt" "$root/tests/fixtures/LIGHTON_COMMAND" || { echo "run $i: the file differs" >&2; failures=$((failures + 1)); }
    rm -f "$work/out.txt"
done

# The gateway's own count of how the transfers ended, from its summaries (written when it stops): a
# transfer the client completed but whose ACK|FIN never got through is a "close unconfirmed".
kill -TERM "${pids[1]}" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "${pids[1]}" 2>/dev/null || break; sleep 0.1; done
summed() { grep 'since the last summary' "$work/gateway.log" | grep -o "[0-9]* $1" | awk '{s += $1} END {print s + 0}'; }

percentiles() { sort -n | awk '{v[NR]=$1} END {printf "median %.1f  p95 %.1f  max %.1f", v[int((NR+1)/2)], v[int((NR*95+99)/100)], v[NR]}'; }
echo "loss $loss each way, $runs transfers of 13,112 bytes, $failures failed"
echo "protocol, first SYN to FIN|ACK (ms): $(grep -o 'received 13112 bytes in [0-9.]* ms' "$work/client.log" | awk '{print $5}' | percentiles)"
echo "whole client process (ms):          $(awk '{print $1/1000}' "$work/whole.us" | percentiles)"
echo "the gateway counted: $(summed 'completed,') completed, $(summed 'closes unconfirmed') closes unconfirmed, $(summed 'given up,') given up"
[ "$failures" -eq 0 ]
