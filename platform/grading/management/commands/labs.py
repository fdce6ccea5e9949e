"""`manage.py labs sync | check | grade | new | import-gradescope | build-images`: load,
prove, try out and scaffold labs, bring in Gradescope autograders and build their images."""

import argparse
import json
from pathlib import Path

import docker
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

import graders
from catalog.gradescope_import import GradescopeImportError, import_gradescope
from catalog.labcheck import lab_check
from catalog.labfiles import (
    BASES,
    DEFAULT_BUILD_TIMEOUT_S,
    DIFFICULTIES,
    GRADESCOPE,
    LabFormatError,
    discover_labs,
    load_lab,
)
from catalog.labnew import LabExists, lab_new
from catalog.sync import labs_sync
from graders.images.gradescope import AutograderBuildError, build_autograder_image
from grading.api import result_json
from grading.labgrade import GradeOutcome, lab_grade, learner_files
from grading.uploads import SubmissionRejected

# Exit codes of `labs grade`, as the terminal client's `downstack submit` uses them.
PASSED, NOT_PASSED, USAGE, NOT_GRADED = 0, 1, 2, 3

GRADE_HELP = """\
Grade a learner's files in the real sandbox as a submission of the lab would be graded:
the same upload rules, checker files, limits and sandbox options.

A zip is read as the upload form reads it: it must hold every file the lab takes (at the
top or in one folder) and nothing else, and is refused with the form's own message
otherwise. A folder is taken as a working copy: the files the lab takes are read from
it, anything else in it is listed as ignored, and the files it lacks come from the
starter (or --base solution). A <file>.diff in the folder, as a variant holds, is applied
to the base's <file>, so a variant's folder is graded as `labs check` grades it.

The checker gets DOWNSTACK_SEED from --seed, else the lab's check_seed when the lab is
seeded. Exit codes: 0 full marks, 1 graded but not full marks, 2 usage error (unknown or
invalid lab, files the platform would refuse, unreadable files), 3 could not be graded
(a grader error, or Docker unavailable).
"""

IMPORT_HELP = """\
Turn a Gradescope autograder zip (setup.sh and run_autograder at its root) into a lab
folder under the labs folder, and build its image as Gradescope builds it: the zip's
files in /autograder/source, then `apt-get update && bash setup.sh` as root. That build
is the one step given the host's network, to reach package mirrors; its log is printed
as it runs. If setup.sh fails or runs past --build-timeout, nothing is kept.

The folder records the zip's sha256 and Gradescope's defaults (10 minutes, 768 MB, half
a CPU) in lab.toml, where each can be changed. The files a learner submits are the
files in --solution, the instructor's answer; --starter gives what learners start from
(default: the same names, empty). Then prove it with `labs check <slug>` and load it
with `labs sync`.
"""


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**31 - 1}")
    return value


class Command(BaseCommand):
    help = (
        "Load the labs folder into the database (sync), prove labs grade right (check), "
        "grade a learner's files (grade) or start a new lab (new)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(
            dest="action",
            required=True,
            metavar="{sync,check,grade,new,import-gradescope,build-images}",
        )
        sub.add_parser("sync", help="load labs/ into the database; safe to run repeatedly")

        check = sub.add_parser(
            "check",
            help="run the reference, the starter and every variant through the real sandbox",
        )
        check.add_argument("slug", nargs="?", help="one lab (default: every lab)")
        check.add_argument("--runs", type=int, default=3, help="runs per submission (default 3)")
        check.add_argument(
            "--seeds",
            type=int,
            default=0,
            help="also grade the reference and every correct variant (range up to full "
            "marks) once on each of N further seeds, derived from the lab's check_seed and "
            "printed; each must get full marks on every check not tagged seed-answer "
            "(seeded labs only)",
        )

        grade = sub.add_parser(
            "grade",
            help="grade a folder or zip of a learner's files as a submission",
            description=GRADE_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        grade.add_argument("slug", help="the lab, a folder under the labs folder")
        grade.add_argument("source", type=Path, help="a folder or a .zip of the learner's files")
        grade.add_argument("--seed", type=_seed, help="DOWNSTACK_SEED for the checker")
        grade.add_argument(
            "--base",
            choices=BASES,
            default="starter",
            help="where files a folder lacks come from (default: starter)",
        )
        grade.add_argument(
            "--json",
            action="store_true",
            help="print the result as the API shows a submission to staff",
        )

        new = sub.add_parser(
            "new",
            help="scaffold a lab that passes `labs check` as created, and its checker's tests",
            description="Create <labs folder>/<slug>/ (lab.toml, README.md, starter/, "
            "solution/, grader/, one variant) and the unit tests of its checker's pure logic "
            "in tests/labs/test_<slug with _>_checker.py beside the labs folder. Refuses a "
            "slug that is taken.",
        )
        new.add_argument("slug", help="lower-case letters, digits and '-', e.g. cache-stampede")
        new.add_argument("--title", help="the lab's title (default: from the slug)")

        imported = sub.add_parser(
            "import-gradescope",
            help="turn a Gradescope autograder zip into a lab and build its image",
            description=IMPORT_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        imported.add_argument("zip", type=Path, help="the autograder zip")
        imported.add_argument("--slug", required=True, help="the new lab's folder name")
        imported.add_argument("--title", required=True, help="the lab's title")
        imported.add_argument(
            "--solution",
            type=Path,
            required=True,
            help="a folder with the instructor's answer: the files a learner submits",
        )
        imported.add_argument("--starter", type=Path, help="a folder with the learner's start")
        imported.add_argument("--readme", type=Path, help="the learner's instructions (markdown)")
        imported.add_argument("--summary", default="", help="one line for the catalog")
        imported.add_argument("--difficulty", choices=DIFFICULTIES, default="intermediate")
        imported.add_argument("--minutes", type=int, default=60, help="expected time (60)")
        imported.add_argument(
            "--strip-top-folder",
            action="store_true",
            help="the zip holds one folder with the autograder inside: unpack its contents",
        )
        imported.add_argument(
            "--build-timeout",
            type=int,
            default=DEFAULT_BUILD_TIMEOUT_S,
            help=f"seconds setup.sh may take (default {DEFAULT_BUILD_TIMEOUT_S})",
        )
        imported.add_argument(
            "--no-build",
            action="store_true",
            help="write the lab folder only; build later with `labs build-images`",
        )

        images = sub.add_parser(
            "build-images",
            help="build the image of every Gradescope autograder lab that lacks one",
            description="Build, on this host's Docker engine, the image of each Gradescope "
            "autograder lab (or of the one named), as `labs import-gradescope` does; an "
            "image already built from the same files is kept. Every grading host needs them.",
        )
        images.add_argument("slug", nargs="?", help="one lab (default: every such lab)")

    def handle(self, *args, action, **options):
        if action == "import-gradescope":
            self._import_gradescope(options)
        elif action == "build-images":
            self._build_images(options["slug"])
        elif action == "sync":
            self._sync()
        elif action == "check":
            self._check(options["slug"], options["runs"], options["seeds"])
        elif action == "grade":
            self._grade(options)
        else:
            self._new(options["slug"], options["title"])

    def _sync(self):
        report = labs_sync(root=settings.LABS_DIR)
        for verb, slugs in (
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("retired", report.retired),
        ):
            for slug in slugs:
                self.stdout.write(f"{verb:>9}  {slug}")
        for verb, slug in report.tracks:
            self.stdout.write(f"{verb:>9}  track {slug}")
        for error in report.errors:
            self.stderr.write(f"  invalid  {error}")
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} lab(s) could not be loaded; fix them and rerun"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"labs: {len(report.added)} added, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged, {len(report.retired)} retired; "
                f"tracks: {sum(verb != 'retired' for verb, _ in report.tracks)} loaded"
            )
        )

    def _check(self, slug, runs, seeds):
        if runs < 1:
            raise CommandError("--runs must be at least 1")
        if seeds < 0:
            raise CommandError("--seeds must be 0 or more")
        paths = discover_labs(settings.LABS_DIR)
        if slug:
            paths = [p for p in paths if p.name == slug]
            if not paths:
                raise CommandError(f"no lab named {slug!r} under {settings.LABS_DIR}")
        failed = []
        for path in paths:
            try:
                spec = load_lab(path)
            except LabFormatError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{spec.slug}: {runs} run(s) each")
            try:
                outcomes = lab_check(spec, runs=runs, seeds=seeds, progress=self.stdout.write)
            except graders.InfrastructureError as exc:
                raise CommandError(str(exc)) from None
            failed += [f"{spec.slug} {o.name}" for o in outcomes if not o.ok]
        if failed:
            raise CommandError("labs check failed: " + ", ".join(failed))
        self.stdout.write(self.style.SUCCESS(f"labs check passed ({len(paths)} lab(s))"))

    def _grade(self, options):
        slug, source = options["slug"], options["source"]
        path = settings.LABS_DIR / slug
        if not (path / "lab.toml").is_file():
            raise CommandError(f"no lab named {slug!r} under {settings.LABS_DIR}", returncode=USAGE)
        if not source.exists():
            raise CommandError(f"{source} does not exist", returncode=USAGE)
        try:
            spec = load_lab(path)
            files = learner_files(spec, source, base=options["base"])
        except LabFormatError as exc:
            raise CommandError(str(exc), returncode=USAGE) from None
        except SubmissionRejected as exc:
            raise CommandError(f"{source}: {exc}", returncode=USAGE) from None
        except OSError as exc:
            raise CommandError(f"cannot read {source}: {exc}", returncode=USAGE) from None
        try:
            graded = lab_grade(spec, files.files, seed=options["seed"])
        except graders.InfrastructureError as exc:
            raise CommandError(f"could not grade: {exc}", returncode=NOT_GRADED) from None
        except OSError as exc:
            raise CommandError(
                f"could not grade: cannot read the lab's checker files: {exc}",
                returncode=NOT_GRADED,
            ) from None

        if options["json"]:
            document = result_json(
                outcome=graded.outcome,
                facts=graded.facts,
                tests=graded.tests,
                hidden=[],
                passed=graded.passed,
            )
            self.stdout.write(json.dumps(document, indent=2))
        else:
            self._print_grade(spec.slug, source, files, graded)
        if not graded.graded:
            raise CommandError("could not be graded: a grader error", returncode=NOT_GRADED)
        if not graded.passed:
            score = graded.outcome["score"]
            full = graded.outcome["max_score"]
            of = f"{score:g} / {full:g}" if full is not None else f"{score:g}"
            raise CommandError(f"graded {of}: not full marks", returncode=NOT_PASSED)

    def _print_grade(self, slug, source, files, graded: GradeOutcome):
        write = self.stdout.write
        seed = "no seed" if graded.seed is None else f"seed {graded.seed}"
        write(f"{slug}: grading {source} ({seed})")
        write(f"  submitted: {', '.join(files.given) or '(nothing)'}")
        if files.filled_in:
            write(f"  filled in from the {files.base}: {', '.join(files.filled_in)}")
        if files.ignored:
            write(f"  ignored (not files this lab takes): {', '.join(files.ignored)}")
        write("")
        outcome, facts = graded.outcome, graded.facts
        if not graded.graded:
            write(self.style.ERROR(f"Could not be graded: grader error: {graded.error}"))
            tail = facts["grader_log"].strip().splitlines()[-30:]
            if tail:
                write("Checker's stderr (last lines):")
                for line in tail:
                    write(f"    {line}")
        else:
            full = outcome["max_score"]
            score = f"{outcome['score']:g}" + (f" / {full:g}" if full is not None else "")
            verdict = "full marks" if graded.passed else "not full marks"
            write(f"Score: {score}  ({verdict})")
            if outcome["status_detail"]:
                write(outcome["status_detail"])
            if outcome["feedback"]:
                write(outcome["feedback"])
            for test in graded.tests:
                mark = "✓" if test["status"] == "passed" else "✗"
                write(
                    f"  {mark} [{test['visibility']}] {test['name']}  "
                    f"({test['score']:g}/{test['max_score']:g})"
                )
                for line in (test["output"] or "").splitlines():
                    write(f"      {line}")
        memory = facts["peak_memory_bytes"]
        write("")
        write(
            "Sandbox: exit code {}, {:.2f} s, peak memory {}, timed out {}, OOM {}, "
            "output truncated {}".format(
                facts["exit_code"],
                facts["duration_s"],
                "unknown" if memory is None else f"{memory / 2**20:.1f} MiB",
                _yes(facts["timed_out"]),
                _yes(facts["oom_killed"]),
                _yes(facts["output_truncated"]),
            )
        )
        write(f"Image: {facts['image']}")

    def _new(self, slug, title):
        try:
            created = lab_new(
                labs_dir=settings.LABS_DIR, slug=slug, title=title, on_created=self.stdout.write
            )
        except (LabExists, ValueError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Created lab {slug}."))
        self.stdout.write("Next:")
        for line in created.next_steps:
            self.stdout.write(f"  {line}")

    def _import_gradescope(self, options):
        try:
            imported = import_gradescope(
                options["zip"],
                labs_dir=settings.LABS_DIR,
                slug=options["slug"],
                title=options["title"],
                solution=options["solution"],
                starter=options["starter"],
                readme=options["readme"],
                summary=options["summary"],
                difficulty=options["difficulty"],
                minutes=options["minutes"],
                strip_top_folder=options["strip_top_folder"],
                build=not options["no_build"],
                build_timeout_s=options["build_timeout"],
                on_log=lambda line: self.stdout.write(f"  | {line}"),
            )
        except (GradescopeImportError, AutograderBuildError) as exc:
            raise CommandError(str(exc)) from None
        spec = imported.spec
        self.stdout.write(self.style.SUCCESS(f"Imported {options['zip']} as lab {spec.slug}."))
        self.stdout.write(f"  zip sha256: {imported.zip_sha256}")
        if imported.stripped_folder:
            self.stdout.write(f"  unpacked from its folder {imported.stripped_folder}/")
        self.stdout.write(f"  learners submit: {', '.join(spec.submit)}")
        self.stdout.write(f"  image: {imported.image or spec.image + ' (not built yet)'}")
        self.stdout.write("Next:")
        if imported.image is None:
            self.stdout.write(f"  .venv/bin/python manage.py labs build-images {spec.slug}")
        self.stdout.write(f"  .venv/bin/python manage.py labs check {spec.slug}")
        self.stdout.write("  .venv/bin/python manage.py labs sync")

    def _build_images(self, slug):
        specs = []
        for path in discover_labs(settings.LABS_DIR):
            if slug and path.name != slug:
                continue
            try:
                spec = load_lab(path)
            except LabFormatError as exc:
                raise CommandError(str(exc)) from None
            if spec.dialect == GRADESCOPE:
                specs.append(spec)
        if slug and not specs:
            raise CommandError(f"no Gradescope autograder lab named {slug!r}")
        for spec in specs:
            self.stdout.write(f"{spec.slug}: {spec.image}")
            try:
                build_autograder_image(
                    spec.path / "grader",
                    client=docker.from_env(),
                    timeout_s=spec.build_timeout_s,
                    on_log=lambda line: self.stdout.write(f"  | {line}"),
                )
            except AutograderBuildError as exc:
                raise CommandError(f"{spec.slug}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"images ready ({len(specs)} lab(s))"))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
