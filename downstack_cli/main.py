"""The `downstack` command: log in, list labs, fetch a starter, submit and wait for the grade.

Exit codes: 0 success (for submit: the submission passed); 1 the submission was graded
but did not pass; 2 a usage or server error (nothing was submitted, or the state is
unknown); 3 the submission could not be graded (a grader error, not your code).
"""

from __future__ import annotations

import argparse
import getpass
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path, PurePosixPath

from downstack_cli.api import Api, ApiError

PASSED, NOT_PASSED, FAILURE, GRADER_ERROR = 0, 1, 2, 3


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "downstack" / "config.json"


def load_api() -> Api:
    url, token = os.environ.get("DOWNSTACK_URL"), os.environ.get("DOWNSTACK_TOKEN")
    path = config_path()
    if (not url or not token) and path.is_file():
        saved = json.loads(path.read_text())
        url, token = url or saved.get("url"), token or saved.get("token")
    if not url or not token:
        raise ApiError("not logged in: run `downstack login` first")
    return Api(url, token)


def cmd_login(args) -> int:
    url = args.url or input("Server URL (e.g. https://downstack.example.org): ").strip()
    token = args.token or getpass.getpass("API token (from your account page): ").strip()
    api = Api(url, token)
    labs = api.get_json("/labs/")["labs"]
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The token acts as you: keep the file readable by you alone.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token}, handle)
    print(f"Logged in to {url}: {len(labs)} lab(s) available. Saved to {path}.")
    return 0


def _state(lab: dict) -> str:
    progress = lab.get("progress") or {}
    if progress.get("passed"):
        return "passed"
    if progress.get("best_score") is not None:
        return f"best {progress['best_score']:g}"
    if progress.get("attempts"):
        return "attempted"
    return "not started"


def cmd_labs(args) -> int:
    labs = load_api().get_json("/labs/")["labs"]
    if not labs:
        print("No labs yet.")
        return 0
    width = max(len(lab["slug"]) for lab in labs)
    for lab in labs:
        print(
            f"{lab['slug']:<{width}}  {lab['difficulty']:<12} {lab['minutes']:>3} min  "
            f"{_state(lab):<12} {lab['title']}"
        )
    return 0


def cmd_get(args) -> int:
    api = load_api()
    target = Path(args.dir or args.lab)
    if target.exists() and any(target.iterdir()) and not args.force:
        raise ApiError(f"{target} is not empty; choose another --dir or pass --force")
    data = api.get_bytes(f"/labs/{args.lab}/starter.zip")
    written = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            parts = PurePosixPath(info.filename).parts
            if info.is_dir() or len(parts) < 2 or ".." in parts or info.filename.startswith("/"):
                continue
            path = target.joinpath(*parts[1:])  # drop the lab's folder: --dir names it
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(info))
            written.append(path)
    lab = api.get_json(f"/labs/{args.lab}/")
    # The lab's instructions beside the starter, under a name the starter does not use.
    readme = target / "README.md"
    if readme in written:
        readme = target / "INSTRUCTIONS.md"
    readme.write_text(lab["instructions"], encoding="utf-8")
    written.append(readme)
    print(f"Wrote {len(written)} file(s) to {target}/ (the instructions are in {readme.name})")
    if lab.get("seed") is not None:
        print(f"Your seed for this lab is {lab['seed']}.")
    print(f"Hand in: {', '.join(lab['submit_files'])}  (downstack submit {args.lab})")
    return 0


def _pick_files(lab: dict, given: list[str]) -> dict[str, bytes]:
    if given:
        return {Path(p).name: Path(p).read_bytes() for p in given}
    files = {}
    for name in lab["submit_files"]:
        for candidate in (Path(name), Path(lab["slug"]) / name):
            if candidate.is_file():
                files[name] = candidate.read_bytes()
                break
        else:
            raise ApiError(
                f"{name} not found here or in ./{lab['slug']}/; name the files to submit"
            )
    return files


def _progress_line(sub: dict) -> str:
    if sub["status"] == "queued":
        line = "queued"
        if sub.get("queue_position"):
            line += f", position {sub['queue_position']}"
        if sub.get("estimated_wait_s"):
            line += f", about {sub['estimated_wait_s']:.0f} s"
        if sub.get("status_detail"):
            line += f" ({sub['status_detail']})"
        return line
    if sub["status"] == "running" and sub.get("running_check"):
        return f"running: {sub['running_check']}"
    return sub["status"]


def _new_checks(sub: dict, shown: int, hidden_shown: tuple[int, int]) -> list[str]:
    """Lines for the checks finished since the last poll (while it runs)."""
    lines = [
        f"    {'✓' if test['status'] == 'passed' else '✗'} {test['name']}  "
        f"({test['score']:g}/{test['max_score']:g})"
        for test in sub["tests"][shown:]
    ]
    hidden = sub.get("hidden_tests") or {}
    counts = (hidden.get("passed", 0), hidden.get("failed", 0))
    if counts != hidden_shown:
        lines.append(f"    hidden checks so far: {counts[0]} passed, {counts[1]} failed")
    return lines


def _print_result(sub: dict) -> None:
    print()
    if sub["status"] == "error":
        print(f"Could not be graded: {sub['status_detail']}")
        return
    score = "0" if sub["max_score"] is None else f"{sub['score']:g} / {sub['max_score']:g}"
    print(f"Score: {score}{'  — passed' if sub['passed'] else ''}")
    if sub.get("status_detail"):
        print(sub["status_detail"])
    if sub.get("feedback"):
        print(sub["feedback"])
    for test in sub["tests"]:
        mark = "✓" if test["status"] == "passed" else "✗"
        print(f"  {mark} {test['name']}  ({test['score']:g}/{test['max_score']:g})")
        for line in (test.get("output") or "").splitlines()[:20]:
            print(f"      {line}")
    hidden = sub.get("hidden_tests") or {}
    if hidden.get("passed") or hidden.get("failed"):
        print(f"  Hidden checks: {hidden['passed']} passed, {hidden['failed']} failed.")
    print(f"Details: {sub['url']}")


def cmd_submit(args) -> int:
    api = load_api()
    lab = api.get_json(f"/labs/{args.lab}/")
    files = _pick_files(lab, args.files)
    sub = api.post_files(f"/labs/{args.lab}/submissions/", files)
    print(f"Submitted {', '.join(files)}: {sub['url']}")
    if args.no_wait:
        return PASSED
    shown = None
    checks_shown, hidden_shown = 0, (0, 0)
    deadline = time.monotonic() + args.timeout
    while sub["status"] in ("queued", "running"):
        if sub["status"] == "running":
            for check_line in _new_checks(sub, checks_shown, hidden_shown):
                print(check_line, flush=True)
            hidden = sub.get("hidden_tests") or {}
            checks_shown = len(sub["tests"])
            hidden_shown = (hidden.get("passed", 0), hidden.get("failed", 0))
        line = _progress_line(sub)
        if line != shown:
            print(f"  … {line}", flush=True)
            shown = line
        if time.monotonic() > deadline:
            print(f"Still {sub['status']} after {args.timeout:.0f} s; see {sub['url']}")
            return FAILURE
        time.sleep(args.poll)
        sub = api.get_json(f"/submissions/{sub['id']}/")
    _print_result(sub)
    if sub["status"] == "error":
        return GRADER_ERROR
    return PASSED if sub["passed"] else NOT_PASSED


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="downstack",
        description="Work on Downstack labs from your terminal.",
        epilog="Exit codes: 0 ok/passed, 1 graded but not passed, 2 usage or server "
        "error, 3 could not be graded. DOWNSTACK_URL and DOWNSTACK_TOKEN override the "
        "saved login.",
    )
    sub = top.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="save the server URL and your API token")
    login.add_argument("--url", help="the server, e.g. https://downstack.example.org")
    login.add_argument("--token", help="an API token (asked for when not given)")
    login.set_defaults(func=cmd_login)
    labs = sub.add_parser("labs", help="list the labs and your progress")
    labs.set_defaults(func=cmd_labs)
    get = sub.add_parser(
        "get", help="download a lab's starter files and its instructions (README.md) into a folder"
    )
    get.add_argument("lab")
    get.add_argument("--dir", help="where to put them (default: ./<lab>)")
    get.add_argument("--force", action="store_true", help="write into a non-empty folder")
    get.set_defaults(func=cmd_get)
    submit = sub.add_parser(
        "submit", help="submit files, show each check as it finishes, print the grade and feedback"
    )
    submit.add_argument("lab")
    submit.add_argument("files", nargs="*", help="default: the lab's files from . or ./<lab>/")
    submit.add_argument("--no-wait", action="store_true", help="return once queued")
    submit.add_argument("--timeout", type=float, default=600, help="seconds to wait (600)")
    submit.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    submit.set_defaults(func=cmd_submit)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ApiError as exc:
        print(f"downstack: {exc}", file=sys.stderr)
        return FAILURE
    except KeyboardInterrupt:
        print("\ndownstack: interrupted", file=sys.stderr)
        return FAILURE
    except OSError as exc:
        print(f"downstack: {exc}", file=sys.stderr)
        return FAILURE


if __name__ == "__main__":
    sys.exit(main())
