#!/usr/bin/env python3
"""Mutation testing for a few core modules: do their unit tests notice a small wrong change?

    .venv/bin/python scripts/mutate.py                    # every module in MODULES
    .venv/bin/python scripts/mutate.py --module limits    # one (its path or file stem)
    .venv/bin/python scripts/mutate.py --list             # the mutants, nothing run

For each module the script makes one mutant at a time (a comparison, arithmetic or boolean
operator flipped, a `not` removed, a number moved by one, True and False swapped, a
`raise` or a bare call dropped, a returned value replaced by None), writes it over the
module, runs that module's fast tests (MODULES below) with
`python -m pytest -x -q -p no:cacheprovider`, and counts the mutant killed when they fail.
A mutant whose tests run past the per-mutant timeout counts as killed (it hung) and is
reported as such. Mutants come in the same order on every run.

Some mutants cannot be told apart from the original by any test (the same behaviour by
another route). scripts/mutate_equivalent.toml lists them per module, each with a reason;
they count as killed and are reported as equivalent. An entry that no longer matches a
mutant is reported as stale.

Safe beside other work: the repository's code, tests and lab content are copied once, at
start, to a temporary directory, and every mutant is written and tested only inside that
copy, so the working tree is never changed and nobody else's test run can see a mutant.
Inside the copy the module is still restored byte for byte after each mutant (also on
Ctrl-C) and the copy is deleted at the end.

The tests run with the README's environment (CELERY_BROKER_URL defaults to Redis database
15 on 127.0.0.1) and without writing bytecode, so that a mutant of the same size written
within the same second as the last one is never served from a stale .pyc.

Prints killed/total and the percentage per module and lists every survivor with its line
and mutation. Exits 1 when a module is below --min percent (default 90), 2 when a module's
tests fail before any mutation. Standard library only.
"""

from __future__ import annotations

import argparse
import ast
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tokenize
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = Path(__file__).resolve().parent / "mutate_equivalent.toml"

# Each module with the fast tests that should notice a change in it, quickest first
# (with -x the first failure ends the run).
MODULES: dict[str, tuple[str, ...]] = {
    "graders/results.py": ("tests/graders/test_results_contract.py",),
    "platform/grading/uploads.py": (
        "tests/grading/test_uploads.py",
        "tests/security/test_hostile_uploads.py",
    ),
    "platform/cohorts/exports.py": ("tests/cohorts/test_exports.py",),
    "graders/limits.py": ("tests/graders/test_limits.py",),
    "platform/accounts/throttle.py": (
        "tests/accounts/test_login_throttle.py",
        "tests/accounts/test_signup.py",
        "tests/accounts/test_password_reset.py",
        "tests/security/test_login_limits.py",
    ),
}

# What the copy needs for those tests to run as they do in the working tree.
COPIED = (
    "graders",
    "platform",
    "tests",
    "labs",
    "tracks",
    "templates",
    "static",
    "downstack_cli",
    "pyproject.toml",
    "manage.py",
    "conftest.py",
)
NOT_COPIED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "var", "node_modules", ".hypothesis", ".pytest_cache"
)
PYTEST = ("-m", "pytest", "-x", "-q", "-p", "no:cacheprovider")
TEST_BROKER = "redis://127.0.0.1:6379/15"  # the Makefile's default for `make test`

COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
ARITHMETIC_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
}
SYMBOLS: dict[type, str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.And: "and",
    ast.Or: "or",
}


def say(text: str = "") -> None:
    """One line of the report, flushed at once so a long run shows its progress."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass(frozen=True)
class Mutant:
    """One small change to a module: where it is, what it does, and how to make it."""

    line: int
    code: str  # the original source line, stripped: what the allowlist matches
    mutation: str
    apply: Callable[[ast.Module], None]  # changes a fresh parse of the module in place


@dataclass
class Outcome:
    mutant: Mutant
    verdict: str  # "killed", "timed out", "equivalent" or "survived"
    seconds: float
    reason: str = ""

    @property
    def counts_as_killed(self) -> bool:
        return self.verdict != "survived"


# --- making mutants ------------------------------------------------------------------


def walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, depth first in field order: the same order for every parse of a source,
    so a node's position names it in a fresh copy of the tree."""
    yield tree
    for child in ast.iter_child_nodes(tree):
        yield from walk(child)


def _node(tree: ast.Module, index: int) -> ast.AST:
    for position, node in enumerate(walk(tree)):
        if position == index:
            return node
    raise LookupError(index)


def _segment(source: str, node: ast.AST, limit: int = 60) -> str:
    text = " ".join((ast.get_source_segment(source, node) or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
    )


def _set_field(index: int, name: str, value_of: Callable[[ast.AST], object]):
    def apply(tree: ast.Module) -> None:
        node = _node(tree, index)
        setattr(node, name, value_of(node))

    return apply


def _set_op(index: int, position: int | None, new: type):
    def apply(tree: ast.Module) -> None:
        node = _node(tree, index)
        if position is None:
            node.op = new()  # type: ignore[attr-defined]
        else:
            node.ops[position] = new()  # type: ignore[attr-defined]

    return apply


def _replace_statement(index: int, build: Callable[[ast.AST], ast.stmt]):
    """Replace the statement at `index` in whichever body holds it."""

    def apply(tree: ast.Module) -> None:
        target = _node(tree, index)
        for parent in walk(tree):
            for _field, value in ast.iter_fields(parent):
                if isinstance(value, list) and any(item is target for item in value):
                    at = next(i for i, item in enumerate(value) if item is target)
                    value[at] = ast.copy_location(build(target), target)
                    return
        raise LookupError(index)

    return apply


def _unwrap_not(index: int):
    """Replace `not x` by `x` wherever the UnaryOp sits."""

    def apply(tree: ast.Module) -> None:
        target = _node(tree, index)
        for parent in walk(tree):
            for field, value in ast.iter_fields(parent):
                if value is target:
                    setattr(parent, field, target.operand)  # type: ignore[attr-defined]
                    return
                if isinstance(value, list):
                    for at, item in enumerate(value):
                        if item is target:
                            value[at] = target.operand  # type: ignore[attr-defined]
                            return
        raise LookupError(index)

    return apply


def _mutants_of_node(index: int, node: ast.AST, source: str) -> Iterator[tuple[str, Callable]]:
    """(description, apply) for every mutant of one node."""
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            new = COMPARE_SWAPS.get(type(op))
            if new:
                change = f"`{SYMBOLS[type(op)]}` -> `{SYMBOLS[new]}`"
                yield f"{change} in `{_segment(source, node)}`", _set_op(index, position, new)
    elif isinstance(node, ast.BinOp | ast.AugAssign):
        new = ARITHMETIC_SWAPS.get(type(node.op))
        operands = (node.left, node.right) if isinstance(node, ast.BinOp) else (node.value,)
        # Joining text with + is not arithmetic; its mutants only prove the line runs.
        if new and not any(_is_text(operand) for operand in operands):
            change = f"`{SYMBOLS[type(node.op)]}` -> `{SYMBOLS[new]}`"
            yield f"{change} in `{_segment(source, node)}`", _set_op(index, None, new)
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        change = f"`{SYMBOLS[type(node.op)]}` -> `{SYMBOLS[new]}`"
        yield f"{change} in `{_segment(source, node)}`", _set_op(index, None, new)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield f"`not x` -> `x` in `{_segment(source, node)}`", _unwrap_not(index)
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield (
            f"`{node.value}` -> `{not node.value}`",
            _set_field(index, "value", lambda n: not n.value),
        )
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        for step in (1, -1):
            new_value = node.value + step
            yield (
                f"`{node.value!r}` -> `{new_value!r}`",
                _set_field(index, "value", lambda n, step=step: n.value + step),
            )
    elif isinstance(node, ast.Raise):
        yield f"drop `{_segment(source, node)}`", _replace_statement(index, lambda _: ast.Pass())
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield (
            f"drop call `{_segment(source, node)}`",
            _replace_statement(index, lambda _: ast.Pass()),
        )
    elif isinstance(node, ast.Return) and not _returns_none(node):
        yield (
            f"`{_segment(source, node)}` -> `return None`",
            _set_field(index, "value", lambda _: ast.Constant(None)),
        )


def _returns_none(node: ast.Return) -> bool:
    return node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """Ids of nodes whose mutants say nothing about behaviour: annotations and the
    `from __future__` line."""
    skipped: set[int] = set()
    for node in walk(tree):
        annotations: list[ast.AST] = []
        if isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            annotations.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns:
            annotations.append(node.returns)
        if isinstance(node, ast.ImportFrom):
            annotations.append(node)
        for annotation in annotations:
            skipped.update(id(inner) for inner in walk(annotation))
    return skipped


def _code(line: str) -> str:
    """A source line as the allowlist names it: stripped, and without its comment, so
    that rewording a comment does not orphan an entry."""
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            if token.type == tokenize.COMMENT:
                return line[: token.start[1]].strip()
    except (tokenize.TokenError, SyntaxError):  # a line that opens a bracket it closes later
        pass
    return line.strip()


def mutants_of(source: str) -> list[Mutant]:
    """Every mutant of a module's source, in source order (line, column, kind)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    skipped = _skipped_nodes(tree)
    found: list[tuple[int, int, int, Mutant]] = []
    for index, node in enumerate(walk(tree)):
        if id(node) in skipped or not hasattr(node, "lineno"):
            continue
        for description, apply in _mutants_of_node(index, node, source):
            line = node.lineno
            mutant = Mutant(line, _code(lines[line - 1]), description, apply)
            found.append((line, node.col_offset, len(found), mutant))
    ordered = [mutant for *_, mutant in sorted(found, key=lambda item: item[:3])]
    # The same change twice on one line (two 1024s) gets "#2" so that every mutant has a
    # name of its own for the allowlist.
    seen: dict[tuple[int, str], int] = {}
    named = []
    for mutant in ordered:
        count = seen[mutant.line, mutant.mutation] = seen.get((mutant.line, mutant.mutation), 0) + 1
        if count > 1:
            mutant = Mutant(mutant.line, mutant.code, f"{mutant.mutation} #{count}", mutant.apply)
        named.append(mutant)
    return named


def check_round_trip(source: str, module: str) -> None:
    """Mutants are written with ast.unparse; refuse a module it would not reproduce."""
    tree = ast.parse(source)
    if ast.dump(ast.parse(ast.unparse(tree))) != ast.dump(tree):
        raise SystemExit(f"{module}: ast.unparse does not reproduce it; cannot mutate it safely")


def mutated_source(source: str, mutant: Mutant) -> str:
    tree = ast.parse(source)
    mutant.apply(tree)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# --- equivalent mutants --------------------------------------------------------------


@dataclass(frozen=True)
class Equivalent:
    module: str
    code: str
    mutation: str
    reason: str

    def matches(self, module: str, mutant: Mutant) -> bool:
        return (module, mutant.code, mutant.mutation) == (self.module, self.code, self.mutation)


def load_equivalents(path: Path) -> list[Equivalent]:
    if not path.exists():
        return []
    with path.open("rb") as stream:
        entries = tomllib.load(stream).get("equivalent", [])
    equivalents = []
    for number, entry in enumerate(entries, start=1):
        missing = {"module", "code", "mutation", "reason"} - set(entry)
        if missing or not str(entry.get("reason", "")).strip():
            raise SystemExit(
                f"{path.name}: entry {number} needs module, code, mutation and a reason "
                f"(missing: {', '.join(sorted(missing)) or 'reason text'})"
            )
        equivalents.append(
            Equivalent(entry["module"], entry["code"], entry["mutation"], entry["reason"])
        )
    return equivalents


# --- running the tests ---------------------------------------------------------------


def make_copy(destination: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=NOT_COPIED, symlinks=True)
        elif source.exists():
            shutil.copy2(source, destination / name)


def test_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CELERY_BROKER_URL", TEST_BROKER)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_tests(
    python: str, workdir: Path, tests: tuple[str, ...], timeout: float
) -> tuple[int | None, float, str]:
    """(exit code or None when it timed out, seconds, the output's last lines)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [python, *PYTEST, *tests],
        cwd=workdir,
        env=test_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group, so a hung run is stopped with its children
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        output, code = "", None
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    tail = "\n".join(output.strip().splitlines()[-15:])
    return code, time.monotonic() - started, tail


@dataclass
class ModuleReport:
    module: str
    outcomes: list[Outcome]
    stale: list[Equivalent]
    seconds: float

    @property
    def killed(self) -> int:
        return sum(outcome.counts_as_killed for outcome in self.outcomes)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / len(self.outcomes) if self.outcomes else 100.0


def mutate_module(
    module: str,
    workdir: Path,
    equivalents: list[Equivalent],
    *,
    python: str,
    timeout: float | None,
) -> ModuleReport:
    tests = MODULES[module]
    target = workdir / module
    original = target.read_bytes()
    source = original.decode("utf-8")
    check_round_trip(source, module)
    mutants = mutants_of(source)
    mine = [e for e in equivalents if e.module == module]
    started = time.monotonic()

    code, seconds, tail = run_tests(python, workdir, tests, timeout=timeout or 3600)
    if code != 0:
        say(tail)
        say(f"{module}: its tests fail before any mutation (exit {code}); nothing measured.")
        raise SystemExit(2)
    # Ten times the clean run is a hang, not a slow test on a busy machine.
    limit = timeout or max(120.0, 10 * seconds)
    say(f"{module}: {len(mutants)} mutants; clean run {seconds:.1f} s, timeout {limit:.0f} s")

    outcomes = []
    for number, mutant in enumerate(mutants, start=1):
        equivalent = next((e for e in mine if e.matches(module, mutant)), None)
        if equivalent:
            outcome = Outcome(mutant, "equivalent", 0.0, equivalent.reason)
        else:
            try:
                target.write_text(mutated_source(source, mutant), encoding="utf-8")
                code, seconds, _ = run_tests(python, workdir, tests, timeout=limit)
            finally:
                target.write_bytes(original)
            verdict = "timed out" if code is None else "survived" if code == 0 else "killed"
            outcome = Outcome(mutant, verdict, seconds)
        outcomes.append(outcome)
        say(
            f"  [{number:3}/{len(mutants)}] {outcome.verdict:10} L{mutant.line:<4} "
            f"{mutant.mutation}  ({outcome.seconds:.1f} s)"
        )
    assert target.read_bytes() == original
    stale = [e for e in mine if not any(e.matches(module, m) for m in mutants)]
    return ModuleReport(module, outcomes, stale, time.monotonic() - started)


def print_summary(reports: list[ModuleReport], minimum: float) -> None:
    say()
    for report in reports:
        total = len(report.outcomes)
        below = "  BELOW --min" if report.percent < minimum else ""
        say(
            f"{report.module}: {report.killed}/{total} killed ({report.percent:.0f}%), "
            f"{report.seconds:.0f} s{below}"
        )
        for outcome in report.outcomes:
            mutant = outcome.mutant
            if outcome.verdict == "survived":
                say(f"    survived   L{mutant.line}: {mutant.mutation}")
            elif outcome.verdict == "timed out":
                say(f"    timed out  L{mutant.line}: {mutant.mutation} (counted as killed)")
            elif outcome.verdict == "equivalent":
                say(f"    equivalent L{mutant.line}: {mutant.mutation}: {outcome.reason}")
        for entry in report.stale:
            say(f"    stale allowlist entry (matches no mutant): {entry.code} :: {entry.mutation}")
    say(f"total: {sum(r.seconds for r in reports):.0f} s")


def pick_modules(name: str | None) -> list[str]:
    if name is None:
        return list(MODULES)
    chosen = [m for m in MODULES if name in (m, Path(m).stem, Path(m).name)]
    if not chosen:
        raise SystemExit(f"unknown module {name!r}; choose from: {', '.join(MODULES)}")
    return chosen


def default_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/mutate.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--module",
        help="only this module: its path (graders/limits.py) or file stem (limits)",
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and run nothing")
    parser.add_argument(
        "--min",
        type=float,
        default=90.0,
        help="exit 1 when a module kills fewer than this percent of its mutants (default 90)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds one mutant's tests may run before it counts as hung "
        "(default: ten times the clean run, at least 120)",
    )
    parser.add_argument(
        "--python",
        default=default_python(),
        help="the interpreter that runs pytest (default: the repository's .venv, if any)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modules = pick_modules(args.module)
    equivalents = load_equivalents(EQUIVALENT_FILE)
    if args.list:
        for module in modules:
            mutants = mutants_of((ROOT / module).read_text(encoding="utf-8"))
            say(f"{module}: {len(mutants)} mutants")
            for mutant in mutants:
                known = any(e.matches(module, mutant) for e in equivalents)
                mark = "  (equivalent)" if known else ""
                say(f"  L{mutant.line:<4} {mutant.mutation}{mark}")
        return 0

    reports = []
    with tempfile.TemporaryDirectory(prefix="downstack-mutants-") as scratch:
        workdir = Path(scratch)
        make_copy(workdir)
        say(f"testing mutants in a copy of the repository at {workdir}")
        try:
            for module in modules:
                reports.append(
                    mutate_module(
                        module, workdir, equivalents, python=args.python, timeout=args.timeout
                    )
                )
        except KeyboardInterrupt:
            say("\ninterrupted; the working tree was never changed")
            print_summary(reports, args.min)
            return 130
    print_summary(reports, args.min)
    return 1 if any(report.percent < args.min for report in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
