"""Run every example, and check that every code block in README.md and docs/ that names an
example is that file, verbatim (every Python block must name one).

An example that needs a real client `make clients` could not install (R's paws without CRAN or
an offline mirror, say) is skipped with the reason, and the summary line names it.

``--sync`` rewrites each named block from the example file it names, then checks as usual.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent


DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A code block names the example it shows on its first line: `# examples/x.py` for Python,
# `# examples/x.sh` for shell. Other blocks (`sh` without a name: set-up commands) are free text.
BLOCK = re.compile(r"```(python|sh|js|r|yaml)\n(.*?)```", re.S)
NAMED = re.compile(r"(?:#|//) (examples/[\w.-]+\.(?:py|sh|cjs|R|yml))")


PAWS = "R's paws"
# What an example needs beyond the venv: (path that must exist, or a command on PATH; its name).
NEEDS: dict[str, list[tuple[str, str]]] = {
    "endpoint.sh": [
        ("/usr/bin/aws", "the AWS CLI v2"),
        ("tests/clients/js/node_modules/@aws-sdk/client-iam", "the JavaScript SDK v3"),
        ("curl", "curl"),
    ],
    "endpoint_paws.sh": [(".paws-lib/paws.security.identity", PAWS), ("Rscript", "R")],
    "awscli_plugin.sh": [("/usr/bin/aws", "the AWS CLI v2")],
    "endpoint_moto.sh": [
        ("/usr/bin/aws", "the AWS CLI v2"),
        ("tests/clients/js/node_modules/@aws-sdk/client-iam", "the JavaScript SDK v3"),
        ("tests/clients/js/node_modules/aws-sdk", "the JavaScript SDK v2"),
    ],
    "endpoint_upstream.sh": [("/usr/bin/aws", "the AWS CLI v2"), ("curl", "curl")],
    "git_codecommit.sh": [("git", "git"), ("curl", "curl")],
    "endpoint_bedrock.sh": [
        ("tests/clients/js/node_modules/@aws-sdk/client-bedrock-runtime", "the JavaScript SDK v3"),
        ("curl", "curl"),
    ],
}


def missing_client(path: Path) -> str | None:
    for need, name in NEEDS.get(path.name, []):
        remedy = (
            "it installs from CRAN, which this machine cannot reach; an offline copy of paws"
            " installs too (.ci/install-clients says how)"
            if name == PAWS
            else "run `make clients`"
        )
        if "/" in need:
            if not (ROOT / need).exists():
                return f"{name} is not installed ({remedy})"
        elif shutil.which(need) is None:
            return f"{name} is not installed ({need} is not on PATH; {remedy})"
    return None


def doc_blocks_match_examples() -> list[str]:
    problems = []
    for document in DOCUMENTS:
        name = document.relative_to(ROOT)
        blocks = BLOCK.findall(document.read_text())
        for language, block in blocks:
            first = block.splitlines()[0]
            match = NAMED.match(first)
            if not match:
                if language == "python":
                    problems.append(f"{name}: block does not name its example file: {first!r}")
            elif (ROOT / match[1]).read_text() != block:
                problems.append(f"{name}: block differs from {match[1]}")
    return problems


def sync_docs() -> None:
    """Rewrite every named block from the example file it names."""

    def replace(match: re.Match[str]) -> str:
        name = NAMED.match(match[2])
        return f"```{match[1]}\n{(ROOT / name[1]).read_text()}```" if name else match[0]

    for document in DOCUMENTS:
        document.write_text(BLOCK.sub(replace, document.read_text()))


def main() -> int:
    if "--sync" in sys.argv:
        sync_docs()
    problems = doc_blocks_match_examples()
    paths = [
        p
        for p in sorted([*HERE.glob("*.py"), *HERE.glob("*.sh"), *HERE.glob("*.yml")])
        if not p.name.startswith("run_")  # the runners themselves
    ]
    skipped = []
    for path in paths:
        why = missing_client(path)
        if why is not None:
            print(f"{path.relative_to(ROOT)}: SKIPPED: {why}")
            skipped.append(f"{path.name} ({why})")
            continue
        env: dict[str, str] = {}
        if path.suffix == ".yml":  # a CI workflow: its run steps, in a fresh venv and checkout
            cmd = [sys.executable, str(HERE / "run_workflow.py"), str(path)]
        elif path.name == "noxfile.py":
            cmd = [sys.executable, "-m", "nox", "-f", str(path)]
        elif path.name.startswith("test_"):
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
        elif path.suffix == ".sh":  # with the venv's console scripts (sscstub) on PATH
            cmd = ["bash", "-euo", "pipefail", str(path)]
            env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        else:
            cmd = [sys.executable, str(path)]
        done = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env or None
        )
        status = "ok" if done.returncode == 0 else f"FAILED ({done.returncode})"
        print(f"{path.relative_to(ROOT)}: {status}")
        if done.returncode:
            problems.append(f"{path.name} failed:\n{done.stdout}\n{done.stderr}")
    for problem in problems:
        print(problem, file=sys.stderr)
    ran = len(paths) - len(skipped)
    print(
        f"{len(paths)} examples: {ran} ran, {len(skipped)} skipped, {len(problems)} problems"
        + (f"; skipped: {'; '.join(skipped)}" if skipped else "")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
