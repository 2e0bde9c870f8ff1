#!/usr/bin/env bash
# Fuzzes one target of the core with AFL++ and SharpFuzz for a while.
#   fuzz/run.sh TARGET [SECONDS]     TARGET: header, gateway or client; default 600 s
# Installs AFL++ (Debian) and the SharpFuzz instrumentation tool, builds the harness, instruments
# Anon.Protocol.dll and runs afl-fuzz from fuzz/corpus/TARGET. Crashes land in
# fuzz/findings/TARGET/default/crashes. Replay one with the uninstrumented harness (the instrumented
# one runs only under afl-fuzz): dotnet run --project fuzz/Anon.Fuzz -- TARGET FILE
set -euo pipefail
target=${1:?usage: fuzz/run.sh header|gateway|client [SECONDS]}
seconds=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)

command -v afl-fuzz >/dev/null || { apt-get update -qq && apt-get install -y -qq afl++; }
export PATH="$PATH:$HOME/.dotnet/tools"
command -v sharpfuzz >/dev/null || dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0

rm -rf "$here/bin"  # a fresh copy: sharpfuzz refuses to instrument twice
dotnet publish "$here/Anon.Fuzz" -c Release -o "$here/bin" -v quiet -nologo
sharpfuzz "$here/bin/Anon.Protocol.dll"

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
mkdir -p "$here/findings"
afl-fuzz -V "$seconds" -i "$here/corpus/$target" -o "$here/findings/$target" -t 5000 -m none \
    -- dotnet "$here/bin/anon-fuzz.dll" "$target"
crashes=$(find "$here/findings/$target/default/crashes" -type f -name 'id:*' | wc -l)
echo "$target: $crashes crashing inputs in $seconds s"
[ "$crashes" -eq 0 ]
