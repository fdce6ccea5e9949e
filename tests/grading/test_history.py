"""The history page's diff: each line numbered in the file it comes from, hunks headed
as unified diffs head them, and rows that put a replaced line beside its replacement."""

import difflib

from grading.history import DiffLine, file_hunks, files_diff

TEN = "".join(f"line {n}\n" for n in range(1, 11))


def as_unified(before: str, after: str) -> list[str]:
    """The same diff as difflib writes it, without the file header lines."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=3)
    return [line for line in lines if not line.startswith(("---", "+++"))]


def test_lines_carry_their_numbers_in_the_older_and_the_newer_file():
    after = TEN.replace("line 2\n", "").replace("line 6\n", "line six\n")
    (hunk,) = file_hunks(TEN, after)
    assert hunk.header == "@@ -1,9 +1,8 @@"
    assert hunk.lines[:3] == [
        DiffLine("context", 1, 1, "line 1"),
        DiffLine("del", 2, None, "line 2"),
        DiffLine("context", 3, 2, "line 3"),
    ]
    assert DiffLine("del", 6, None, "line 6") in hunk.lines
    assert DiffLine("add", None, 5, "line six") in hunk.lines
    assert hunk.lines[-1] == DiffLine("context", 9, 8, "line 9")


def test_side_by_side_rows_pair_a_replaced_line_with_its_replacement():
    after = TEN.replace("line 5\n", "five\nfive and a half\n").replace("line 9\n", "")
    (hunk,) = file_hunks(TEN, after)
    rows = [(old and (old.kind, old.old), new and (new.kind, new.new)) for old, new in hunk.rows]
    assert rows == [
        (("context", 2), ("context", 2)),
        (("context", 3), ("context", 3)),
        (("context", 4), ("context", 4)),
        (("del", 5), ("add", 5)),
        (None, ("add", 6)),
        (("context", 6), ("context", 7)),
        (("context", 7), ("context", 8)),
        (("context", 8), ("context", 9)),
        (("del", 9), None),
        (("context", 10), ("context", 10)),
    ]


def test_changes_far_apart_make_separate_hunks_numbered_where_they_are():
    before = "".join(f"line {n}\n" for n in range(1, 31))
    after = before.replace("line 2\n", "two\n").replace("line 28\n", "")
    first, second = file_hunks(before, after)
    assert (first.header, second.header) == ("@@ -1,5 +1,5 @@", "@@ -25,6 +25,5 @@")
    assert second.lines[0] == DiffLine("context", 25, 25, "line 25")
    assert DiffLine("del", 28, None, "line 28") in second.lines
    assert second.lines[-1] == DiffLine("context", 30, 29, "line 30")


def test_a_new_file_and_a_removed_file_are_numbered_on_their_one_side():
    (added,) = file_hunks("", "a\nb\n")
    assert added.header == "@@ -0,0 +1,2 @@"
    assert added.lines == [DiffLine("add", None, 1, "a"), DiffLine("add", None, 2, "b")]
    assert added.rows == [(None, added.lines[0]), (None, added.lines[1])]
    (removed,) = file_hunks("only\n", "")
    assert removed.header == "@@ -1 +0,0 @@"
    assert removed.rows == [(DiffLine("del", 1, None, "only"), None)]


def test_lines_are_numbered_as_an_editor_numbers_them():
    # A form feed is not a line end to an editor, and CRLF is one line end.
    before = "a\r\nb\x0cc\r\nd\n"
    (hunk,) = file_hunks(before, "a\nb\x0cc\nD\n")
    assert hunk.lines[-2:] == [DiffLine("del", 3, None, "d"), DiffLine("add", None, 3, "D")]


def test_files_equal_but_for_the_last_line_end_are_unchanged():
    (diff,) = files_diff({"main.py": "x = 1"}, {"main.py": "x = 1\n"})
    assert not diff.changed and diff.hunks == []


def test_the_hunks_say_what_a_unified_diff_says():
    before = "".join(f"{n % 4}\n" for n in range(40))
    after = before.replace("3\n", "three\n", 2).replace("1\n0\n", "1\n", 1) + "end\n"
    written = []
    for hunk in file_hunks(before, after):
        written.append(hunk.header)
        signs = {"context": " ", "del": "-", "add": "+"}
        written += [signs[line.kind] + line.text for line in hunk.lines]
    assert written == as_unified(before, after)
