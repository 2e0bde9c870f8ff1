# Sourced by bench/compare.sh and bench/startup.sh: the three servers of the same 13,112-byte page
# (our Native AOT gateway, tftp-hpa, libcoap) and what they need. The caller sets root (the
# repository), work (a scratch folder it removes) and pids (an array of what it must end), and
# defines its own clean-up.

page="$root/tests/fixtures/LIGHTON_COMMAND"
aot="$root/artifacts/aot"
lab="$root/tools/Anon.Lab/bin/Release/net10.0"

# Installs with apt what is missing of tftp-hpa, libcoap, the Native AOT toolchain and the given extras.
install_missing() { # [COMMAND:PACKAGE ...]
    local need=() pair
    for pair in in.tftpd:tftpd-hpa tftp:tftp-hpa coap-client-notls:libcoap3-bin "clang:clang zlib1g-dev" "$@"; do
        command -v "${pair%%:*}" >/dev/null || need+=(${pair#*:})
    done
    if [ ${#need[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

# The Native AOT gateway and client (in artifacts/aot/) and anon-lab, whose page server serves the page.
build_programs() {
    dotnet publish "$root/src/Anon.Gateway" -p:PublishProfile=aot -v quiet -nologo >/dev/null
    dotnet publish "$root/src/Anon.Client" -p:PublishProfile=aot -v quiet -nologo >/dev/null
    dotnet build -c Release "$root/tools/Anon.Lab" -v quiet -nologo >/dev/null
}

wait_for() { for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "timed out: $2 in $1" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts the three servers, in network namespace $1 if given (else here), and sets ours_port,
# tftp_port and coap_port, and ours_pid, tftp_pid and coap_pid.
start_servers() {
    local ns=${1:-} dir=$work/servers${1:+-$1}
    local run=()
    [ -n "$ns" ] && run=(ip netns exec "$ns")
    mkdir -p "$dir/tftp" && cp "$page" "$dir/tftp/"
    "${run[@]}" "$lab/anon-lab" serve --port 0 > "$dir/web.out" 2>&1 & pids+=($!)
    wait_for "$dir/web.out" serving
    local web
    web=$(grep -o 'http://[0-9.:]*/' "$dir/web.out")
    "${run[@]}" "$aot/anonGateway" -p 0 -l "$dir/gateway.log" -w "${web}LIGHTON_COMMAND" --refresh 0 --max-connection-rate 0 > "$dir/gateway.out" 2>&1 & pids+=($!)
    ours_pid=$!
    wait_for "$dir/gateway.out" "listening on UDP port"
    ours_port=$(grep -o 'UDP port [0-9]*' "$dir/gateway.out" | awk '{print $3}')
    tftp_port=$(free_port)
    "${run[@]}" in.tftpd -L -a "127.0.0.1:$tftp_port" -s "$dir/tftp" & pids+=($!)
    tftp_pid=$!
    coap_port=$(free_port)
    "${run[@]}" coap-server-notls -A 127.0.0.1 -p "$coap_port" & pids+=($!)
    coap_pid=$!
    sleep 0.5
    # libcoap's example server holds what is PUT into its resource; fetched block-wise below.
    "${run[@]}" coap-client-notls -m put -b 512 -f "$page" "coap://127.0.0.1:$coap_port/example_data"
}
