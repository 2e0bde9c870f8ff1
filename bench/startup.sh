#!/usr/bin/env bash
# A one-shot transfer as a whole process, against the cost of starting a program at all: our
# Native AOT client fetching the 13,112-byte page from our gateway, a Native AOT "hello" built here
# with the client's own publish profile, tftp-hpa's and libcoap's clients fetching the same page,
# and /bin/true, interleaved in one run (bench/spawn_timer.py); and our client checking the page's
# signature (--page-key) from a gateway that serves it. Installs what it needs with apt;
# needs root (apt, and in.tftpd's chroot).
#   bench/startup.sh [RUNS]          RUNS runs of each (default 40)
#   bench/startup.sh --phases [RUNS] also where the client's run goes, phase by phase: a build with
#                                    bench/startup-phases.patch, made in a git worktree of its own
# The patch marks each phase in the client (StartupPhases.Mark). When the client's code moves and
# it no longer applies (BenchTests says so), apply its other files, put the marks back where the
# phases now begin and end, and write it again with `git diff -- src/Anon.Client` (StartupPhases.cs
# added with `git add -N`).
#
# Our client runs with --linger 0 (the fetch itself: by default it stays 500 ms more, after the file
# and the LED, to answer a repeated FIN). Two cases of it: the output file holds the page already
# (a device fetching from a timer; the file is compared and flushed to disk, not written), and it
# holds the other page (copied there before each run, untimed: the page is written to a temporary
# file, flushed to disk and renamed over it). tftp-hpa and libcoap write their file each run and do
# not flush it to disk.
set -euo pipefail
phases=0
if [ "${1:-}" = --phases ]; then phases=1; shift; fi
runs=${1:-40}
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/servers.sh
source "$root/bench/servers.sh"

if [ "$(id -u)" -ne 0 ]; then echo "bench/startup.sh: needs root (apt, in.tftpd)" >&2; exit 1; fi
install_missing strace:strace minisign:minisign
work=$(mktemp -d)
pids=()
worktree=
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "$worktree" ] && git -C "$root" worktree remove --force "$worktree" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

echo "bench/startup.sh: building the Native AOT gateway, client and hello" >&2
build_programs
dotnet publish "$root/bench/Anon.Hello" -p:PublishProfileFullPath="$root/src/Anon.Client/Properties/PublishProfiles/aot.pubxml" \
    -o "$work/hello" -v quiet -nologo >/dev/null
ours_client=$aot/anonclient
phase_arguments=()
phased=
if [ "$phases" = 1 ]; then
    echo "bench/startup.sh: building the client with bench/startup-phases.patch" >&2
    worktree=$work/phases-tree
    git -C "$root" worktree add -q --detach "$worktree" HEAD
    git -C "$worktree" apply "$root/bench/startup-phases.patch" \
        || { echo "bench/startup.sh: bench/startup-phases.patch no longer applies to the client: mend it" >&2; exit 1; }
    dotnet publish "$worktree/src/Anon.Client" -p:PublishProfile=aot -o "$work/phases" -v quiet -nologo >/dev/null
    # Timed beside the others, but apart from them: its marks cost a little.
    phase_arguments=(--phases "ours, page unchanged, phases build")
    phased="ours, page unchanged, phases build=$work/phases/anonclient -s 127.0.0.1 -p PORT -l $work/client.log --linger 0 -f $work/out.phases"
fi

start_servers
phased=${phased/PORT/$ours_port}
ours="$ours_client -s 127.0.0.1 -p $ours_port -l $work/client.log --linger 0 -f"

# The same page signed (README "On the device too"): a gateway of its own with --page-key and
# --signature-port, and the client checking the signature with --page-key (two transfers, the
# signature's check, the last signing time written to --state-dir).
mkdir -p "$work/signed" "$work/state"
cp "$page" "$work/signed/"
minisign -G -W -p "$work/key.pub" -s "$work/key.sec" >/dev/null
minisign -S -s "$work/key.sec" -m "$work/signed/LIGHTON_COMMAND" >/dev/null
"$lab/anon-lab" serve "$work/signed" --port 0 > "$work/signed-web.out" 2>&1 & pids+=($!)
wait_for "$work/signed-web.out" serving
signed_port=$(free_port)
signature_port=$(free_port)
"$aot/anonGateway" -p "$signed_port" -l "$work/signed-gateway.log" -w "$(grep -o 'http://[0-9.:]*/' "$work/signed-web.out")LIGHTON_COMMAND" \
    --refresh 0 --max-connection-rate 0 --page-key "$work/key.pub" --signature-port "$signature_port" > "$work/signed-gateway.out" 2>&1 & pids+=($!)
wait_for "$work/signed-gateway.out" "serving the page's signature"
signed="$ours_client -s 127.0.0.1 -p $signed_port -l $work/signed-client.log --linger 0 --page-key $work/key.pub --signature-port $signature_port --state-dir $work/state -f $work/out.signed"
echo "one machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r), .NET $(dotnet --version)"
lightoff=$root/tests/fixtures/LIGHTOFF_COMMAND
python3 "$root/bench/spawn_timer.py" --rounds "$runs" \
    --copy "ours, page changed=$lightoff:$work/out.changed" \
    --ratio "ours, page unchanged/hello" --ratio "ours, page changed/hello" \
    --ratio "ours, page unchanged/tftp-hpa" --ratio "ours, page changed/tftp-hpa" \
    --ratio "ours, page unchanged/libcoap" --ratio "hello/true" --ratio "tftp-hpa/true" \
    --ratio "ours, signed page unchanged/ours, page unchanged" \
    "${phase_arguments[@]}" \
    "true=/bin/true" \
    "hello=$work/hello/hello" \
    "ours, page unchanged=$ours $work/out.same" \
    "ours, page changed=$ours $work/out.changed" \
    "ours, signed page unchanged=$signed" \
    "tftp-hpa=tftp -m binary 127.0.0.1 $tftp_port -c get LIGHTON_COMMAND $work/out.tftp" \
    "libcoap=coap-client-notls -m get -b 512 -o $work/out.coap coap://127.0.0.1:$coap_port/example_data" \
    ${phased:+"$phased"}
for file in out.same out.changed out.signed out.tftp out.coap; do
    cmp -s "$work/$file" "$page" || { echo "bench/startup.sh: $file is not the page" >&2; exit 1; }
done

read -r protocol < <(grep -ho 'received [0-9]* bytes in [0-9.]* ms' "$work/client.log" | awk '{print $5}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
echo "ours, protocol part (first SYN to the last segment, from the client's log): median $protocol ms"
# System calls and threads of one run each, by strace (which slows them: counts only).
for program in "hello=$work/hello/hello" "ours, page unchanged=$ours $work/out.same" "ours, page changed=$ours $work/out.changed"; do
    name=${program%%=*}
    cp "$lightoff" "$work/out.changed"
    strace -f -c -o "$work/strace" ${program#*=} >/dev/null
    calls=$(awk '/^[ -]*$/ {next} /total/ {print $4}' "$work/strace")
    threads=$(awk '$NF == "clone3" || $NF == "clone" {n += $4} END {print n + 1}' "$work/strace")
    echo "$name: $calls system calls, $threads threads (strace -f -c)"
done
