"""`make bench`: run every component's benchmark in its own process and print their figures.

Each component keeps its benchmark beside its code (`tutorplane.<component>.bench:main`); figures are
reported as ratios against a baseline measured in the same run. Benchmarks are never timed assertions.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time

BENCHMARKS: tuple[str, ...] = (
    "tutorplane.db.bench",
    "tutorplane.guardrail.bench",
    "tutorplane.routing.bench",
    "tutorplane.gateway.bench",
    "tutorplane.operator.bench",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tutorplane-bench", description=__doc__)
    parser.add_argument("only", nargs="*", help="substring filter on benchmark module names")
    args = parser.parse_args(argv)
    failures = 0
    for module in BENCHMARKS:
        if args.only and not any(part in module for part in args.only):
            continue
        print(f"\n=== {module} ===", flush=True)
        if importlib.util.find_spec(module) is None:
            print("  (not present)")
            continue
        started = time.perf_counter()
        code = subprocess.call(
            [sys.executable, "-c", f"import sys; from {module} import main; sys.exit(main() or 0)"]
        )
        print(f"  [{module} finished in {time.perf_counter() - started:.1f}s, exit {code}]", flush=True)
        failures += code != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
