"""Strict unified diffs: how a variant states "the base's file, except these lines".

A variant that changes a few lines of a long file holds `<name>.diff` (the output of
``diff -u base/<name> variant's-<name>``) instead of a whole copy. Applying is strict:
every hunk must start at the line its header names (shifted only by the lines earlier
hunks added or removed) and its context and removed lines must match exactly. There is
no fuzz, so a diff that no longer fits its base after the base changed is an error that
names the hunk, never a silently different variant.
"""

from __future__ import annotations

import re

SUFFIX = ".diff"
HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
NO_NEWLINE = "\\ No newline at end of file"


class PatchError(Exception):
    """A diff that is malformed or does not fit the text it is applied to."""


def _hunks(diff: str) -> list[tuple[int, int, list[str]]]:
    """(line the hunk starts at in the old text, its old length, its body lines)."""
    hunks: list[tuple[int, int, list[str]]] = []
    lines = diff.splitlines()
    index = 0
    while index < len(lines) and not lines[index].startswith("@@"):
        if not lines[index].startswith(("---", "+++")) and lines[index].strip():
            raise PatchError(
                f"line {index + 1}: expected '---', '+++' or '@@', got {lines[index]!r}"
            )
        index += 1
    while index < len(lines):
        match = HUNK_RE.match(lines[index])
        if not match:
            raise PatchError(f"line {index + 1}: expected a hunk header '@@ -a,b +c,d @@'")
        start = int(match.group(1))
        old_length = 1 if match.group(2) is None else int(match.group(2))
        index += 1
        body = []
        while index < len(lines) and not lines[index].startswith("@@"):
            line = lines[index]
            if line == NO_NEWLINE:
                raise PatchError("diffs of files without a final newline are not supported")
            line = line or " "  # a blank context line whose space an editor trimmed
            if line[0] not in " +-":
                raise PatchError(f"line {index + 1}: a hunk line starts with ' ', '+' or '-'")
            body.append(line)
            index += 1
        if sum(1 for line in body if line[0] != "+") != old_length:
            raise PatchError(f"hunk at line {start}: its body does not match its header")
        hunks.append((start, old_length, body))
    if not hunks:
        raise PatchError("holds no hunk")
    return hunks


def apply_bytes(original: bytes, diff: bytes) -> bytes:
    """`apply` on files as read from disk (UTF-8); a file that is not text is a PatchError."""
    try:
        return apply(original.decode(), diff.decode()).encode()
    except UnicodeDecodeError as error:
        raise PatchError(f"not UTF-8 text ({error})") from None


def apply(original: str, diff: str) -> str:
    """The text `original` with `diff` applied; raises PatchError when it does not fit."""
    old = original.splitlines(keepends=True)
    if old and not old[-1].endswith("\n"):
        raise PatchError("diffs of files without a final newline are not supported")
    out: list[str] = []
    at = 0  # lines of `old` consumed so far
    for number, (start, old_length, body) in enumerate(_hunks(diff), start=1):
        begin = start - 1 if old_length else start  # an empty old range names the line before
        if begin < at:
            raise PatchError(f"hunk {number} overlaps the hunk before it")
        out += old[at:begin]
        at = begin
        for line in body:
            kind, text = line[0], line[1:] + "\n"
            if kind == "+":
                out.append(text)
                continue
            if at >= len(old) or old[at] != text:
                found = old[at].rstrip("\n") if at < len(old) else "the end of the file"
                raise PatchError(
                    f"hunk {number} does not fit at line {at + 1}: "
                    f"expected {line[1:]!r}, found {found!r}"
                )
            if kind == " ":
                out.append(text)
            at += 1
    return "".join(out + old[at:])
