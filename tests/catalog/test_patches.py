"""Strict unified diffs for variants: they apply exactly where they say, or not at all."""

import difflib

import pytest

from catalog.patches import PatchError, apply, apply_bytes

BASE = "".join(f"line {n}\n" for n in range(1, 31))


def _diff(old: str, new: str, context: int = 3) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), "a", "b", n=context
        )
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda lines: lines[:4] + ["new\n"] + lines[4:],  # an insertion
        lambda lines: lines[:4] + lines[6:],  # a deletion
        lambda lines: ["first\n"] + lines,  # at the start
        lambda lines: lines + ["last\n"],  # at the end
        lambda lines: lines[:2] + ["x\n"] + lines[3:25] + ["y\n", "z\n"] + lines[27:],  # two hunks
        lambda lines: [],  # everything removed
    ],
)
@pytest.mark.parametrize("context", [0, 1, 3])
def test_a_diff_reproduces_the_changed_text(edit, context):
    changed = "".join(edit(BASE.splitlines(keepends=True)))
    assert apply(BASE, _diff(BASE, changed, context)) == changed


def test_a_diff_into_an_empty_file():
    assert apply("", _diff("", "one\ntwo\n")) == "one\ntwo\n"


def test_a_blank_context_line_without_its_space_still_fits():
    old = "a\n\nb\nc\n"
    diff = _diff(old, "a\n\nb\nC\n").replace("\n \n", "\n\n")
    assert apply(old, diff) == "a\n\nb\nC\n"


def test_no_fuzz_a_hunk_must_be_where_its_header_says():
    diff = _diff(BASE, BASE.replace("line 10\n", "ten\n"))
    shifted = "extra\n" + BASE
    with pytest.raises(PatchError, match="hunk 1 does not fit at line 7: expected 'line 7'"):
        apply(shifted, diff)


def test_a_hunk_whose_body_disagrees_with_its_header_is_malformed():
    diff = _diff(BASE, BASE.replace("line 10\n", "ten\n")).replace("@@ -7,7", "@@ -7,8")
    with pytest.raises(PatchError, match="does not match its header"):
        apply(BASE, diff)


def test_text_without_a_final_newline_is_refused_with_a_reason():
    with pytest.raises(PatchError, match="final newline"):
        apply("a\nb", "@@ -1 +1 @@\n-a\n+A\n")
    with pytest.raises(PatchError, match="final newline"):
        apply("a\n", "@@ -1 +1 @@\n-a\n+A\n\\ No newline at end of file\n")


def test_a_diff_without_hunks_is_refused():
    with pytest.raises(PatchError, match="no hunk"):
        apply(BASE, "--- a\n+++ b\n")


def test_files_that_are_not_text_are_refused_with_a_reason():
    assert apply_bytes(b"a\n", b"@@ -1 +1 @@\n-a\n+A\n") == b"A\n"
    with pytest.raises(PatchError, match="not UTF-8 text"):
        apply_bytes(b"\xff\xfe\n", b"@@ -1 +1 @@\n-a\n+A\n")
