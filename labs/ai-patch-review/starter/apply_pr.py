"""Check out the pull request: copy repo/ and apply the PR's diff to the copy.

    python3 apply_pr.py                 # repo/ + pr/pr-42.diff -> pr-head/
    python3 apply_pr.py --out my-fix    # another copy to fix by hand

The same as `git apply`, for machines without git: a strict unified-diff applier (no
fuzz, no offsets), so a diff that does not match the base is refused, never half-applied.
"""

import argparse
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    pass


def parse(diff_text):
    """[(old_path or None, new_path, [(old_start, [(op, text)])])] from a unified diff."""
    files, current, hunk = [], None, None
    for number, line in enumerate(diff_text.splitlines(), start=1):
        if line.startswith("diff --git "):
            current, hunk = None, None
        elif line.startswith("--- ") and hunk is None:
            old = line[4:].strip()
            current = [None if old == "/dev/null" else old.removeprefix("a/"), None, []]
            files.append(current)
        elif line.startswith("+++ ") and current is not None and current[1] is None:
            current[1] = line[4:].strip().removeprefix("b/")
        elif (match := HUNK.match(line)) and current is not None:
            hunk = (int(match[1]), [])
            current[2].append(hunk)
        elif hunk is not None and line[:1] in (" ", "-", "+"):
            hunk[1].append((line[0], line[1:]))
        elif hunk is not None and line == "":
            hunk[1].append((" ", ""))  # some tools strip the space of empty context lines
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
        elif hunk is not None and not line.startswith(("index ", "new file", "deleted file")):
            raise PatchError(f"line {number} of the diff is not part of a hunk: {line!r}")
    return files


def apply_file(old_lines, hunks, name):
    result, position = [], 0  # position: index into old_lines of the next unread line
    for old_start, body in hunks:
        start = max(old_start - 1, 0) if any(op != "+" for op, _ in body) else old_start
        if start < position:
            raise PatchError(f"{name}: hunks overlap or are out of order")
        result.extend(old_lines[position:start])
        position = start
        for op, text in body:
            if op in (" ", "-"):
                if position >= len(old_lines) or old_lines[position] != text:
                    raise PatchError(
                        f"{name}: line {position + 1} does not match the diff "
                        f"(expected {text!r}); is this the right base?"
                    )
                position += 1
            if op in (" ", "+"):
                result.append(text)
    result.extend(old_lines[position:])
    return result


def apply(diff_text, root):
    for old, new, hunks in parse(diff_text):
        source = root / old if old else None
        old_lines = source.read_text().splitlines() if source else []
        new_lines = apply_file(old_lines, hunks, new)
        target = root / new
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(new_lines) + "\n" if new_lines else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE / "repo")
    parser.add_argument("--diff", type=Path, default=HERE / "pr" / "pr-42.diff")
    parser.add_argument("--out", type=Path, default=HERE / "pr-head")
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} already exists; remove it or pass --out another-folder")
    shutil.copytree(args.repo, args.out, ignore=shutil.ignore_patterns("__pycache__"))
    try:
        apply(args.diff.read_text(), args.out)
    except (PatchError, OSError) as exc:
        shutil.rmtree(args.out, ignore_errors=True)
        sys.exit(f"could not apply {args.diff.name}: {exc}")
    print(f"{args.out.name}/ now holds the PR's head: run its tests with")
    print(f"  cd {args.out.name} && python3 -m unittest discover -s tests -t . -v")


if __name__ == "__main__":
    main()
