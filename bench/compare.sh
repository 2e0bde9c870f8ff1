#!/usr/bin/env bash
# The same 13,112-byte page fetched over loopback with our client and gateway, tftp-hpa and libcoap
# (block size 512), measured in one run. Installs what it needs with apt.
#   bench/compare.sh [RUNS]          RUNS single transfers per program (default 30)
# Prints, per program: one transfer as a whole process (median, p95), 200 transfers one after the
# other, and 50 at once (wall time); then ours / theirs, and the network's floor.
# Not measured here yet: transfers under loss (TFTP answers from a new port, so it needs loss
# inside a network namespace rather than the project's relay).
set -euo pipefail
runs=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
page="$root/tests/fixtures/LIGHTON_COMMAND"

need=()
command -v in.tftpd >/dev/null || need+=(tftpd-hpa)
command -v tftp >/dev/null || need+=(tftp-hpa)
command -v coap-client-notls >/dev/null || need+=(libcoap3-bin)
command -v clang >/dev/null || need+=(clang zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; fi

dotnet publish "$root/src/Anon.Gateway" -p:PublishProfile=aot -v quiet -nologo >/dev/null
dotnet publish "$root/src/Anon.Client" -p:PublishProfile=aot -v quiet -nologo >/dev/null
dotnet build -c Release "$root/tools/Anon.Lab" -v quiet -nologo >/dev/null
dotnet build -c Release "$root/bench/Anon.LoadGenerator" -v quiet -nologo >/dev/null
aot="$root/artifacts/aot"
lab="$root/tools/Anon.Lab/bin/Release/net10.0"

work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_for() { for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out: $2" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Ours: a page server, the AOT gateway.
"$lab/anon-lab" serve --port 0 > "$work/web.out" 2>&1 & pids+=($!)
wait_for "$work/web.out" serving
web=$(grep -o 'http://[0-9.:]*/' "$work/web.out")
"$aot/anonGateway" -p 0 -l "$work/gateway.log" -w "${web}LIGHTON_COMMAND" --refresh 0 --max-connection-rate 0 > "$work/gateway.out" 2>&1 & pids+=($!)
wait_for "$work/gateway.out" "listening on UDP port"
ours_port=$(grep -o 'UDP port [0-9]*' "$work/gateway.out" | awk '{print $3}')

# tftp-hpa: in.tftpd in the foreground on its own port.
mkdir -p "$work/tftp" && cp "$page" "$work/tftp/"
tftp_port=$(free_port)
in.tftpd -L -a "127.0.0.1:$tftp_port" -s "$work/tftp" & pids+=($!)

# libcoap: its example server, the page PUT into its resource, fetched block-wise (512 bytes).
coap_port=$(free_port)
coap-server-notls -A 127.0.0.1 -p "$coap_port" & pids+=($!)
sleep 0.5
coap-client-notls -m put -b 512 -f "$page" "coap://127.0.0.1:$coap_port/example_data"

fetch() { # PROGRAM N: one transfer into $work/out.N
    case $1 in
        ours) "$aot/anonclient" -s 127.0.0.1 -p "$ours_port" -l "$work/client.$2.log" -f "$work/out.$2" >/dev/null ;;
        tftp) tftp -m binary 127.0.0.1 "$tftp_port" -c get LIGHTON_COMMAND "$work/out.$2" ;;
        coap) coap-client-notls -m get -b 512 -o "$work/out.$2" "coap://127.0.0.1:$coap_port/example_data" ;;
    esac
}
export -f fetch
export aot ours_port tftp_port coap_port work

single() { # PROGRAM: microseconds of each of $runs transfers, one a line
    for i in $(seq "$runs"); do
        start=$(date +%s%N); fetch "$1" single; end=$(date +%s%N)
        cmp -s "$work/out.single" "$page" || { echo "$1: the file differs" >&2; exit 1; }
        echo $(( (end - start) / 1000 ))
    done
}
wall() { start=$(date +%s%N); "$@"; end=$(date +%s%N); echo $(( (end - start) / 1000 )); }
sequential() { for i in $(seq 200); do fetch "$1" seq; done; }
concurrent() { seq 50 | xargs -P 50 -I{} bash -c "fetch $1 {}"; for i in $(seq 50); do cmp -s "$work/out.$i" "$page" || { echo "$1: file $i differs" >&2; exit 1; }; done; }
stat() { sort -n | awk '{v[NR]=$1} END {printf "%.2f %.2f\n", v[int((NR+1)/2)]/1000, v[int((NR*95+99)/100)]/1000}'; }

declare -A median p95 seq200 conc50
for program in ours tftp coap; do
    read -r median[$program] p95[$program] < <(single "$program" | stat)
    seq200[$program]=$(awk "BEGIN {printf \"%.0f\", $(wall sequential "$program") / 1000}")
    conc50[$program]=$(awk "BEGIN {printf \"%.0f\", $(wall concurrent "$program") / 1000}")
done

printf '%-6s %26s %18s %18s\n' program "one transfer: median p95" "200 in a row" "50 at once"
for program in ours tftp coap; do
    printf '%-6s %16s ms %6s ms %15s ms %15s ms\n' "$program" "${median[$program]}" "${p95[$program]}" "${seq200[$program]}" "${conc50[$program]}"
done
for theirs in tftp coap; do
    awk -v a="${median[ours]}" -v b="${median[$theirs]}" -v c="${seq200[ours]}" -v d="${seq200[$theirs]}" -v e="${conc50[ours]}" -v f="${conc50[$theirs]}" -v t="$theirs" \
        'BEGIN {printf "ours / %-4s  one transfer %.2f   200 in a row %.2f   50 at once %.2f\n", t, a/b, c/d, e/f}'
done
dotnet "$root/bench/Anon.LoadGenerator/bin/Release/net10.0/anon-load.dll" floor --runs 200
