#!/usr/bin/env python3
"""Times whole processes side by side, for bench/startup.sh.

    spawn_timer.py --rounds N [--copy NAME=SOURCE:PATH] [--ratio A/B] [--phases NAME] NAME=COMMAND ...

Each round runs every COMMAND once, in a new random order, so that a slow minute of the machine
falls on all of them alike; three rounds first are not counted. Each run is timed from just before
posix_spawn to the moment wait4 reaps it, and wait4's resource usage gives its minor page faults
and context switches. A run that exits other than 0 stops everything.

--copy NAME=SOURCE:PATH  copies SOURCE to PATH before each run of NAME, outside the timing.
--ratio A/B             prints median(A) / median(B).
--phases NAME           NAME is a build with bench/startup-phases.patch: each of its runs writes its
                        phases to the file ANON_PHASES names, and the medians are printed per phase,
                        with the runtime's start (spawn to Main) and the exit (last mark to reaped).
"""
import argparse
import os
import random
import shlex
import shutil
import statistics
import tempfile
import time


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def run(argv, environment):
    """Runs argv with standard output discarded: (wall ns, spawned at ns, reaped at ns, rusage)."""
    started = time.monotonic_ns()
    pid = os.posix_spawnp(argv[0], argv, environment,
                          file_actions=[(os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)
    reaped = time.monotonic_ns()
    if status != 0:
        raise SystemExit(f"spawn_timer: {shlex.join(argv)} exited with status {status}")
    return reaped - started, started, reaped, usage


def read_phases(path, started, reaped, total_faults):
    """One run's phases: [(name, microseconds, faults, allocated bytes)], runtime start first, exit last."""
    phases, main_ns, main_faults, main_allocated, end_ns = [], None, 0, 0, None
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            kind, rest = line.rstrip("\n").split(" ", 1)
            if kind == "main":
                ns, faults, allocated = rest.split(" ")
                main_ns, main_faults, main_allocated = int(ns), int(faults), int(allocated)
            elif kind == "phase":
                microseconds, faults, allocated, name = rest.split(" ", 3)
                phases.append((name, float(microseconds), int(faults), int(allocated)))
            elif kind == "end":
                end_ns = int(rest)
    counted = main_faults + sum(faults for _, _, faults, _ in phases)
    return ([("runtime start: spawn to Main", (main_ns - started) / 1000, main_faults, main_allocated)]
            + phases
            + [("exit: last mark to reaped", (reaped - end_ns) / 1000, total_faults - counted, 0)])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warm-up", type=int, default=3)
    parser.add_argument("--copy", action="append", default=[])
    parser.add_argument("--ratio", action="append", default=[])
    parser.add_argument("--phases")
    parser.add_argument("programs", nargs="+", metavar="NAME=COMMAND")
    options = parser.parse_args()

    programs = [entry.split("=", 1) for entry in options.programs]
    copies = {name: paths.split(":", 1) for name, paths in (entry.split("=", 1) for entry in options.copy)}
    wall = {name: [] for name, _ in programs}
    faults = {name: [] for name, _ in programs}
    switches = {name: [] for name, _ in programs}
    phase_runs = []
    phase_file = os.path.join(tempfile.mkdtemp(prefix="anon-phases-"), "phases")

    for round_number in range(options.warm_up + options.rounds):
        order = list(programs)
        random.shuffle(order)
        for name, command in order:
            if name in copies:
                shutil.copyfile(*copies[name])
            environment = dict(os.environ)
            if name == options.phases:
                environment["ANON_PHASES"] = phase_file
                if os.path.exists(phase_file):
                    os.unlink(phase_file)
            elapsed, started, reaped, usage = run(shlex.split(command), environment)
            if round_number < options.warm_up:
                continue
            wall[name].append(elapsed / 1e6)
            faults[name].append(usage.ru_minflt)
            switches[name].append(usage.ru_nvcsw + usage.ru_nivcsw)
            if name == options.phases:
                phase_runs.append(read_phases(phase_file, started, reaped, usage.ru_minflt))

    print(f"{'program':<22} {'median':>9} {'p95':>9} {'page faults':>12} {'context switches':>17}   ({options.rounds} runs each, interleaved)")
    for name, _ in programs:
        print(f"{name:<22} {statistics.median(wall[name]):>6.2f} ms {percentile(wall[name], 0.95):>6.2f} ms "
              f"{statistics.median(faults[name]):>12.0f} {statistics.median(switches[name]):>17.0f}")
    for ratio in options.ratio:
        numerator, denominator = ratio.split("/", 1)
        print(f"{numerator} / {denominator}: {statistics.median(wall[numerator]) / statistics.median(wall[denominator]):.2f}")

    if phase_runs:
        print(f"\nphases of {options.phases} (medians of {len(phase_runs)} runs):")
        print(f"{'phase':<52} {'time':>9} {'page faults':>12} {'allocated':>10}")
        for index, (name, _, _, _) in enumerate(phase_runs[0]):
            column = [run_phases[index] for run_phases in phase_runs]
            print(f"{name:<52} {statistics.median(p[1] for p in column):>6.0f} µs "
                  f"{statistics.median(p[2] for p in column):>12.0f} {statistics.median(p[3] for p in column) / 1024:>7.1f} KiB")
        print(f"{'sum of the medians':<52} {sum(statistics.median(r[i][1] for r in phase_runs) for i in range(len(phase_runs[0]))):>6.0f} µs")


if __name__ == "__main__":
    main()
