"""Summarise py-spy's collapsed stacks (``--format raw``): where each process spends its samples.

``python -m bench.profile_summary DIR`` prints, per process, the functions with the most
samples inclusive (anywhere on the stack) and exclusive (on top of the stack).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def summarise(path: Path, top: int = 15) -> str:
    inclusive: Counter[str] = Counter()
    exclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [frame.split(" (")[0] + " " + frame.split(" (")[-1].rstrip(")").split(":")[0].split("/")[-1]
                  for frame in stack.split(";") if frame]  # fmt: skip
        total += samples
        exclusive[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"== {path.stem}: {total} samples"]
    for title, counter in (("inclusive", inclusive), ("exclusive", exclusive)):
        lines.append(f"-- {title}")
        lines.extend(f"{n / total:6.1%}  {name}" for name, n in counter.most_common(top))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    for path in sorted(Path(argv[0]).glob("*.txt")):
        print(summarise(path, int(argv[1]) if len(argv) > 1 else 15))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
