"""Attacks on the sandbox, each submitted as a learner through the real pipeline.

Each case in attacks/ is one learner's main.py. The "abuse" lab's checker runs it and
reports honestly what happened (abuse_lab_checker.py); the batch in conftest.py grades
them all with one real worker, under runc and under gVisor (runsc). For every case the
learner gets a graded verdict that says what happened, and the attack did not succeed;
afterwards the worker grades a normal submission normally and the host is clean.

Where gVisor behaves differently the test asserts the documented difference
(docs/security/sandbox-abuse.md), never skips it.
"""

from __future__ import annotations

import json
import os

import pytest

from graders.sandbox import LEARNER_UID_BASE
from tests.abuse.batch import (
    ANSWER,
    CASES,
    REPORT,
    Batch,
    Graded,
    fingerprint,
    host_processes,
    orphaned_runtime_processes,
    sandbox_containers_of,
)

# The tests read the batch's snapshot only; the mark makes pytest-django set up the test
# database that the batch fills.
pytestmark = [pytest.mark.docker, pytest.mark.worker, pytest.mark.django_db]

DENIED = {"PermissionError", "Operation not permitted", "EPERM", "EACCES"}
TIME_LIMIT = "Your program ran past its 4 s time limit and was stopped."
RAN_TO_THE_END = "Your program ran to the end."
LEARNER_ENVIRONMENT = ["HOME", "LANG", "PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"]
ALLOWED = {"allowed", "opened", "sent", "made", "connected", "answered", "written", "read"}


def graded_with(graded: Graded, verdict: str) -> dict:
    """The learner got a score of 0 out of 1 and this verdict; nothing outlived the run.

    Returns the checker's report of the run.
    """
    assert graded.status == "graded", (graded.status_detail, graded.grader_log[-3000:])
    assert (graded.score, graded.max_score) == (0, 1)
    assert graded.feedback == verdict
    assert set(graded.checks) == {ANSWER, REPORT}
    report = graded.report()
    assert report["leftover_processes"] == [], report
    assert report["leftover_files"] == [], report
    assert report["grader_files_intact"] is True
    assert report["notes_is_plain_file"] is True
    return report


def refused(outcome) -> bool:
    return outcome not in ALLOWED and not isinstance(outcome, list)


def printed_records(report: dict) -> list[dict]:
    """The JSON lines the learner printed, of the stdout the checker kept (its start and
    its end; the end alone when that is all of it)."""
    head, tail = report["stdout_head"], report["stdout_tail"]
    kept = tail if tail.startswith(head) else head + "\n" + tail
    records = []
    for line in kept.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # cut at the edge of the head or the tail
    return [record for record in records if isinstance(record, dict)]


# -- resources --------------------------------------------------------------------------


def test_fork_bomb_runs_out_of_time_and_leaves_nothing(batch: Batch) -> None:
    graded = batch.graded["fork_bomb"]
    if batch.runtime == "runsc" and graded.oom_killed:
        # Under gVisor the bomb's 64 processes sometimes fill the container's memory
        # before the time limit: the sandbox ends as a whole, with its own verdict.
        assert graded.status == "graded" and graded.score == 0 and graded.checks == {}
        assert graded.status_detail == "Your program used more than 384 MB and was stopped."
        return
    report = graded_with(graded, TIME_LIMIT)
    assert report["timed_out"] is True


def test_memory_balloon_is_stopped_as_over_its_memory(batch: Batch) -> None:
    report = graded_with(
        batch.graded["memory_balloon"],
        "Your program used more than 128 MB of memory and was stopped.",
    )
    assert report["memory_exceeded"] is True
    assert "MemoryError" in report["stderr_tail"]


def test_memory_balloon_over_many_processes_hits_the_container_limit(batch: Batch) -> None:
    graded = batch.graded["memory_balloon_processes"]
    assert graded.status == "graded" and graded.score == 0
    assert graded.oom_killed
    if batch.runtime == "runc":
        # The kernel's OOM killer picks the biggest processes: the learner's children.
        # The checker survives, and the harness reads the container's OOM-kill counter,
        # so the program is reported over its memory although it exited normally.
        report = graded_with(
            graded, "Your program used more than 128 MB of memory and was stopped."
        )
        assert report["memory_exceeded"] is True
        assert -9 in graded.observed()["child_endings"]
    else:
        # gVisor's sandbox is one process to the host's OOM killer: the whole run ends,
        # and the sandbox's own verdict names the container's limit.
        assert graded.checks == {}
        assert graded.status_detail == "Your program used more than 384 MB and was stopped."


def test_cpu_spin_is_stopped_at_the_time_limit(batch: Batch) -> None:
    report = graded_with(batch.graded["cpu_spin"], TIME_LIMIT)
    assert report["timed_out"] is True
    assert report["duration_s"] >= 4  # however late a loaded machine stopped it


def test_sleeping_forever_with_a_daemon_is_stopped_and_the_daemon_killed(batch: Batch) -> None:
    report = graded_with(batch.graded["sleep_forever"], TIME_LIMIT)
    assert report["timed_out"] is True
    assert report["leftover_processes"] == []


def test_a_gigabyte_of_output_is_cut_off_at_one_megabyte(batch: Batch) -> None:
    graded = batch.graded["output_flood"]
    report = graded_with(graded, "Your program printed more than 1 MB and was stopped.")
    assert report["output_truncated"] is True
    # Stopped at the bound by the harness, long before the end of its gigabyte.
    assert report["returncode"] == -9
    assert "FLOOD-END" not in report["stderr_tail"]
    assert all(refused(outcome) for outcome in graded.observed()["other_streams"].values())
    # The flood stayed inside the checker's pipes: the sandbox's own output is small.
    assert not graded.output_truncated
    assert len(graded.grader_log) < 64 * 1024


def test_filling_tmp_and_the_working_directory_stops_at_the_scratch_size(batch: Batch) -> None:
    graded = batch.graded["fill_scratch"]
    report = graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    working_dir = next(place for place in observed if place.startswith("/tmp/learner-"))
    for place in (working_dir, "/dev/shm"):
        assert observed[place]["stopped_by"] == "ENOSPC"
        assert observed[place]["megabytes"] <= 64
    for place in ("/run/grade", "/", "/var/tmp", "/usr/local"):
        assert observed[place] == {"megabytes": 0, "stopped_by": observed[place]["stopped_by"]}
        assert observed[place]["stopped_by"] in {"EACCES", "EROFS"}
    # The harness removed the learner's files: the checker has its space back.
    for place in ("/tmp", "/dev/shm"):
        free_before, _ = report["free_space_before"][place]
        free_after, _ = report["free_space_after"][place]
        assert free_after >= free_before - 64 * 1024, place


def test_creating_100000_files_is_contained_and_cleaned_up(batch: Batch) -> None:
    graded = batch.graded["many_files"]
    report = graded.report()
    if report["timed_out"]:  # gVisor's file system is slower: it usually runs out of time
        graded_with(graded, TIME_LIMIT)
    else:
        graded_with(graded, "Your program ran to the end.")
        assert graded.observed() == {"created": 100_000, "stopped_by": None}
    _, inodes_before = report["free_space_before"]["/tmp"]
    _, inodes_after = report["free_space_after"]["/tmp"]
    assert inodes_after >= inodes_before - 2  # the checker's notes file


# -- network ----------------------------------------------------------------------------


def test_tcp_to_the_host_and_the_internet_fails(batch: Batch) -> None:
    graded = batch.graded["egress_tcp"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    assert observed["interfaces"] == ["lo"]
    assert len(observed["connections"]) >= 3
    assert all(refused(outcome) for outcome in observed["connections"].values()), observed


def test_udp_to_the_host_and_the_internet_fails(batch: Batch) -> None:
    graded = batch.graded["egress_udp"]
    graded_with(graded, "Your program ran to the end.")
    datagrams = graded.observed()["datagrams"]
    assert len(datagrams) >= 3
    assert all(refused(outcome) for outcome in datagrams.values()), datagrams


def test_dns_resolves_nothing(batch: Batch) -> None:
    graded = batch.graded["egress_dns"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    assert observed.pop("resolver") == "gaierror"
    assert observed and all(refused(outcome) for outcome in observed.values()), observed


def test_raw_sockets_are_refused_or_reach_nothing(batch: Batch) -> None:
    graded = batch.graded["egress_raw"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    assert set(observed["as_learner"].values()) == {"PermissionError"}
    if batch.runtime == "runc":
        assert observed["in_own_user_namespace"] == "unshare refused"
    else:
        # gVisor lets the learner make a user namespace (Docker's seccomp profile is not
        # applied inside it) and then open raw sockets, but the sandbox has only its
        # own loopback: nothing reaches the host.
        in_namespace = observed["in_own_user_namespace"]
        assert in_namespace["icmp"] == "opened"
        echoes = {key: value for key, value in in_namespace.items() if key.startswith("echo")}
        assert echoes and all(refused(outcome) for outcome in echoes.values()), echoes


def test_nothing_reached_the_hosts_listeners(batch: Batch) -> None:
    with pytest.raises(BlockingIOError):
        batch.host.tcp_listener.accept()
    with pytest.raises(BlockingIOError):
        batch.host.udp_listener.recvfrom(4096)


# -- the checker's secrets and its result -----------------------------------------------


def test_hidden_files_and_the_reference_solution_cannot_be_read(batch: Batch) -> None:
    graded = batch.graded["read_hidden"]
    # What it could read is the point, not whether its search ended within the time
    # limit (far above what it needs): it prints as it goes, so even a run that a
    # loaded machine cut short tells what it found.
    report = graded_with(graded, graded.feedback)
    assert graded.feedback == RAN_TO_THE_END or report["timed_out"], graded.feedback
    printed = printed_records(report)
    assert [line["found"] for line in printed if "found" in line] == []
    if not report["timed_out"]:
        (searched,) = [line["searched"] for line in printed if "searched" in line]
        assert searched > 100  # the image's /etc and /var alone hold hundreds
    observed = graded.observed()
    checker_fds = next(path for path in observed if path.endswith("/fd"))
    if batch.runtime == "runsc":
        # gVisor lists another user's open file numbers (never their contents, below).
        assert isinstance(observed.pop(checker_fds), list)
    assert all(outcome in DENIED | {"FileNotFoundError"} for outcome in observed.values()), observed


def test_no_stored_text_of_any_case_holds_a_hidden_secret(batch: Batch) -> None:
    for case, graded in [*batch.graded.items(), ("normal", batch.normal)]:
        stored = "\n".join(
            [graded.feedback, graded.status_detail, graded.grader_log, *graded.checks.values()]
        )
        for secret in batch.secrets:
            assert secret not in stored, case


def test_a_forged_result_is_not_taken(batch: Batch) -> None:
    graded = batch.graded["forge_result"]
    graded_with(graded, "Your program ran to the end.")
    attempts = graded.observed()
    # Its own scratch is the one place it may write; the harness removed the file after.
    assert attempts.pop("/tmp/results.json") == "written"
    assert all(refused(outcome) for outcome in attempts.values()), attempts


def test_a_forged_progress_record_is_not_taken(batch: Batch) -> None:
    graded = batch.graded["forge_progress"]
    graded_with(graded, "Your program ran to the end.")
    attempts = graded.observed()
    # The entry program's descriptors were tried: under runc listing them is refused,
    # under gVisor listing is allowed and opening each one refused.
    assert any(target.startswith("/proc/1/fd") for target in attempts), attempts
    tried = {target: outcome for target, outcome in attempts.items() if outcome != "/dev/null"}
    assert all(refused(outcome) for outcome in tried.values()), attempts
    assert "forged" not in graded.checks


def test_the_checker_cannot_be_signalled_traced_or_read(batch: Batch) -> None:
    graded = batch.graded["signal_ptrace"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    observed.pop("SIGKILL everyone")  # reaches only the learner's own processes
    assert len(observed) == 12
    assert all(refused(outcome) for outcome in observed.values()), observed


def test_the_checkers_environment_is_private_or_holds_nothing_secret(batch: Batch) -> None:
    graded = batch.graded["read_environ"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    assert observed["own"] == [
        "HOME",
        "LANG",
        "PATH",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
    ]
    others = observed["environ"]
    assert len(others) >= 2  # the entry program and the checker
    if batch.runtime == "runc":
        assert set(others.values()) == {"PermissionError"}
    else:
        # gVisor shows every process's environment to every user. What the sandbox puts
        # there is known and not secret: limits, paths, the learner's own uid, seed and
        # submission id, the number of the checker's progress pipe (which the learner's
        # programs do not hold). Labs must not pass secrets through the environment.
        names = {item.split("=", 1)[0] for environ in others.values() for item in environ}
        assert names <= {
            "DOWNSTACK_GRADER",
            "DOWNSTACK_INPUT_BYTES",
            "DOWNSTACK_LEARNER_UID",
            "DOWNSTACK_PROGRESS_FD",
            "DOWNSTACK_RESULT_BYTES",
            "DOWNSTACK_SEED",
            "DOWNSTACK_SUBMISSION",
            "DOWNSTACK_SUBMISSION_ID",
            "HOME",
            "HOSTNAME",
            "LANG",
            "PATH",
            "PYTHONDONTWRITEBYTECODE",
            "PYTHONPATH",
        }, names


# -- privileges -------------------------------------------------------------------------


def test_setuid_programs_and_root_capabilities_give_nothing(batch: Batch) -> None:
    graded = batch.graded["setuid_caps"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    assert "/usr/bin/su" in observed["setuid_programs"]
    learner_uid = str(graded.report()["learner_uid"])
    su_uid, su_caps = observed["su_credentials"]
    assert su_uid.split()[1:] == [learner_uid] * 4  # real, effective, saved, file system
    assert su_caps.split()[1] == "0000000000000000"
    assert "must be superuser" in observed["mount_said"]
    assert observed["own"]["CapEff"] == "0000000000000000"
    # gVisor's /proc does not show the flag; its setuid programs still run unprivileged.
    assert observed["own"]["NoNewPrivs"] == ("1" if batch.runtime == "runc" else "")
    if batch.runtime == "runsc":
        # gVisor lets anyone make a device node on its own tmpfs; no device is behind it.
        assert observed.pop("mknod a disk") == "allowed"
    for name in (
        "setuid(0)",
        "setgroups([0])",
        "chown to root",
        "mknod a disk",
        "open the disk",
        "chmod the shadow file",
        "set the hostname",
    ):
        assert refused(observed.get(name)), name


def test_mount_chroot_and_namespaces_reach_nothing(batch: Batch) -> None:
    graded = batch.graded["mount_chroot_unshare"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    as_learner = observed["as_learner"]
    assert all(refused(outcome) for outcome in as_learner.values()), as_learner
    if batch.runtime == "runc":
        for name in ("mount", "pid", "net", "user"):
            assert observed[f"unshare {name}"] == "Operation not permitted", name
        assert "in_own_user_namespace" not in observed
    else:
        # gVisor grants new mount and user namespaces to anyone (no seccomp profile
        # inside it); root in that namespace still cannot mount, read the checker's
        # files or signal it. chroot there only changes the learner's own view.
        assert observed["unshare mount"] == observed["unshare user"] == "allowed"
        in_namespace = dict(observed["in_own_user_namespace"])
        assert in_namespace.pop("chroot") == "allowed"
        assert all(refused(outcome) for outcome in in_namespace.values()), in_namespace


def test_links_to_outside_files_reach_nothing_and_are_removed(batch: Batch) -> None:
    graded = batch.graded["links"]
    graded_with(graded, "Your program ran to the end.")
    observed = graded.observed()
    planted = observed.pop("planted /tmp/checker-notes.txt")
    assert planted == "/run/grade/grader/check.py"
    assert len(observed) == 30  # 5 targets x 3 folders x (symlink, hard link)
    assert all(refused(outcome) for outcome in observed.values()), observed
    # The checker wrote its notes after the run: to a new file, not through the link.
    assert graded.report()["notes"] == "the checker ran after the learner\n"


# -- afterwards -------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_every_case_gets_a_verdict_not_a_grader_error(batch: Batch, case: str) -> None:
    graded = batch.graded[case]
    assert graded.status == "graded", (graded.status_detail, graded.grader_log[-3000:])
    assert graded.score == 0
    assert graded.feedback or graded.status_detail


def test_the_worker_then_grades_a_normal_submission_normally(batch: Batch) -> None:
    normal = batch.normal
    assert normal.status == "graded", (normal.status_detail, batch.worker_log[-3000:])
    assert (normal.score, normal.max_score) == (1, 1)
    assert normal.feedback == "Your program ran to the end."
    assert not (normal.timed_out or normal.oom_killed or normal.output_truncated)


def test_no_sandbox_container_is_left(batch: Batch, docker_engine) -> None:
    pks = {graded.pk for graded in batch.graded.values()} | {batch.normal.pk}
    assert sandbox_containers_of(docker_engine, pks) == []


def test_no_learner_process_or_runtime_process_is_left_on_the_host(
    batch: Batch, docker_engine
) -> None:
    # Runs that the whole sandbox's memory limit ended (under gVisor) report no uid.
    reported = [graded.report()["learner_uid"] for graded in batch.graded.values() if graded.checks]
    assert len(reported) >= len(CASES) - 2
    learner_uids = set(reported)
    assert len(learner_uids) == len(reported)  # every run had its own uid
    left = {pid: info for pid, info in host_processes().items() if info[0] in learner_uids}
    assert left == {}
    assert orphaned_runtime_processes(docker_engine) == []


def test_the_worker_leaves_no_temporary_files(batch: Batch) -> None:
    assert list(batch.host.worker_tmp.iterdir()) == []


def test_the_host_files_are_untouched(batch: Batch) -> None:
    assert fingerprint(batch.host.canary) == batch.host.canary_fingerprint
    # The learner's programs name their files with the batch's token, and the learner
    # uids are far above any host account: nothing of theirs is in the host's scratch.
    for scratch in ("/tmp", "/dev/shm"):
        for entry in os.scandir(scratch):
            assert batch.host.token not in entry.name, entry.path
            assert entry.stat(follow_symlinks=False).st_uid < LEARNER_UID_BASE, entry.path
