"""Run every example, and check that every Python block in README.md is one of them, verbatim.

``--sync`` rewrites each README block from the example file it names, then checks as usual.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent


def readme_blocks_match_examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    problems = []
    for block in blocks:
        first = block.splitlines()[0]
        match = re.match(r"# (examples/[\w.]+\.py)", first)
        if not match:
            problems.append(f"README block does not name its example file: {first!r}")
        elif (ROOT / match[1]).read_text() != block:
            problems.append(f"README block differs from {match[1]}")
    if not blocks:
        problems.append("README.md has no python blocks")
    return problems


def sync_readme() -> None:
    readme = ROOT / "README.md"

    def replace(match: re.Match[str]) -> str:
        name = re.match(r"# (examples/[\w.]+\.py)", match[1])
        return f"```python\n{(ROOT / name[1]).read_text()}```" if name else match[0]

    readme.write_text(re.sub(r"```python\n(.*?)```", replace, readme.read_text(), flags=re.S))


def main() -> int:
    if "--sync" in sys.argv:
        sync_readme()
    problems = readme_blocks_match_examples()
    for path in sorted(HERE.glob("*.py")):
        if path.name == "run_all.py":
            continue
        if path.name.startswith("test_"):
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
        else:
            cmd = [sys.executable, str(path)]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
        print(f"{path.relative_to(ROOT)}: {status}")
        if done.returncode:
            problems.append(f"{path.name} failed:\n{done.stdout}\n{done.stderr}")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(list(HERE.glob('*.py'))) - 1} examples, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
