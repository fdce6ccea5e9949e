"""The split-brain-lease checker's logic: the ledger's judge and fencing rule, the incident
and its answer, the schedules, the verdicts, the stand-in etcd, the seccomp wrapper.

The checker is tried the way it grades: its files are assembled by the lab format
(grader/ plus the starter files `[grader] include` names) into a folder of their own and
imported from there (tests/labs/checker_modules.py). Nothing here starts etcd or Docker;
the stand-in cluster and the wrapper run as ordinary processes on loopback.
"""

import ctypes
import errno
import json
import os
import platform
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.labs.checker_modules import load_checker, private_uses

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "labs" / "split-brain-lease"
CHECK_SEED = 2024

# check first: it puts its starter/ folder (drill.py and the rest) on the path.
GRADER_MODULES = (
    "check",
    "downstack_harness",
    "drill",
    "ledger",
    "etcd_members",
    "incident",
    "incident_answer",
    "schedules",
    "verdicts",
    "peer_uid",
    "no_preallocate",
)


@pytest.fixture(scope="module")
def grader():
    """The checker's modules, imported from the files it receives in the container."""
    folder, modules = load_checker("split-brain-lease", GRADER_MODULES)
    return type("Grader", (), {**modules, "folder": folder})


@pytest.fixture(scope="module")
def night(grader):
    return grader.incident.simulate(CHECK_SEED)


# -- the ledger -------------------------------------------------------------------------


def holder(grader, value="a", revision=7, lease=99):
    return grader.etcd_members.Holder(value=value, create_revision=revision, lease=lease)


def append(grader, *, sender="a", fence=7, status="accepted", held_by=None, known=True):
    return grader.ledger.Append(
        at_s=1.0,
        sender=sender,
        writer=sender,
        seq=1,
        fence=fence,
        status=status,
        entry=1 if status == "accepted" else None,
        holder=held_by,
        holder_known=known,
    )


def test_an_append_from_the_holder_fenced_with_its_revision_is_ok(grader):
    assert append(grader, held_by=holder(grader)).verdict == grader.ledger.OK


@pytest.mark.parametrize(
    "key",
    [None, {"value": "b"}, {"lease": 0}],
    ids=["no key", "another replica's key", "a key without a lease"],
)
def test_an_append_taken_while_the_sender_did_not_hold_a_live_key_is_deposed(grader, key):
    held_by = None if key is None else holder(grader, **key)
    assert append(grader, held_by=held_by).verdict == grader.ledger.DEPOSED


@pytest.mark.parametrize("fence", [None, 6, 8, 2**62])
def test_the_holders_append_with_any_other_fence_is_a_wrong_fence(grader, fence):
    verdict = append(grader, fence=fence, held_by=holder(grader)).verdict
    assert verdict == grader.ledger.WRONG_FENCE


def test_refused_appends_are_harmless_and_unread_etcd_is_unjudged(grader):
    assert append(grader, status="fenced").verdict == grader.ledger.REFUSED
    assert append(grader, known=False).verdict == grader.ledger.UNJUDGED


def test_the_ledger_refuses_a_fence_lower_than_the_highest_it_took(grader):
    book = grader.ledger.LedgerBook()
    assert book.append({"writer": "a", "seq": 1, "fence": 5})[0] == 200
    assert book.append({"writer": "a", "seq": 2, "fence": 5})[0] == 200  # the same leader
    assert book.append({"writer": "b", "seq": 3, "fence": 9})[0] == 200
    code, reply, status = book.append({"writer": "a", "seq": 3, "fence": 5})
    assert (code, reply, status) == (409, {"error": "fenced", "fence": 9}, "fenced")
    assert book.append({"writer": "a", "seq": 4})[0] == 200  # no fence: taken, as always
    assert book.head() == {"seq": 4, "fence": 9}


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"seq": 1},
        {"writer": "", "seq": 1},
        {"writer": "a", "seq": "1"},
        {"writer": "a", "seq": True},
        {"writer": "a", "seq": 1, "fence": 1.5},
        {"writer": "a", "seq": 1, "fence": False},
    ],
)
def test_the_ledger_says_what_is_wrong_with_a_malformed_append(grader, body):
    code, reply, status = grader.ledger.LedgerBook().append(body)
    assert (code, status) == (400, "invalid") and reply["error"]


# -- who is behind a connection ---------------------------------------------------------

TCP_TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1B9E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:B61D 0100007F:1B9E 01 00000000:00000000 00:00000000 00000000  4321        0 2 1
   2: 0100007F:1B9E 0100007F:B61D 01 00000000:00000000 00:00000000 00000000     0        0 3 1
   3: 0A00040B:B61E 0100007F:1B9E 01 00000000:00000000 00:00000000 00000000  999        0 4 1
"""


def test_the_owner_of_a_loopback_client_socket_is_read_from_the_tcp_table(grader):
    owners = grader.peer_uid.socket_owners(TCP_TABLE)
    assert owners[(0xB61D, 7070)] == 4321  # the client end, owned by the replica's uid
    assert owners[(7070, 0xB61D)] == 0  # the ledger's end, the checker's
    assert (0xB61E, 7070) not in owners  # not a loopback connection


# -- the incident (part A) --------------------------------------------------------------


def test_a_seed_replays_the_same_night_and_another_seed_another(grader, tmp_path):
    first, again, other = tmp_path / "1", tmp_path / "2", tmp_path / "3"
    grader.incident.render(grader.incident.simulate(7), first)
    grader.incident.render(grader.incident.simulate(7), again)
    grader.incident.render(grader.incident.simulate(8), other)
    for name in ("timeline.md", "replica-a.log", "replica-b.log", "ledger.jsonl", "etcd-watch.log"):
        assert (first / name).read_bytes() == (again / name).read_bytes()
        assert (first / name).read_bytes() != (other / name).read_bytes()


@pytest.mark.parametrize("seed", range(1, 41))
def test_every_night_has_two_or_three_overlaps_and_stale_appends_clear_of_key_changes(grader, seed):
    night = grader.incident.simulate(seed)
    overlaps = grader.incident_answer.true_overlaps(night)
    stale = grader.incident_answer.stale_entries(night)
    assert 2 <= len(overlaps) <= 3
    assert 0 < len(stale) < len(night.ledger) / 2
    changes = [event["at_ms"] for event in night.watch]
    assert all(abs(row["at_ms"] - at) > 5 for row in night.ledger for at in changes)


def read_back(folder: Path, start: datetime):
    """A learner's analysis, from the files alone: the overlaps (ms since `start`) and the
    stale entries."""

    def ms(text: str) -> int:
        return round((datetime.fromisoformat(text) - start).total_seconds() * 1000)

    beliefs = {}
    for name in ("a", "b"):
        spans, lines = [], (folder / f"replica-{name}.log").read_text().splitlines()
        for line in lines:
            moment = ms(line.split()[0])
            if 'msg="became leader"' in line:
                spans.append([moment, None])
            elif 'msg="shutting down"' in line and spans and spans[-1][1] is None:
                spans[-1][1] = moment
        end = ms(lines[-1].split()[0])
        beliefs[name] = [(s, e if e is not None else end) for s, e in spans]
    overlaps = sorted(
        (max(s1, s2), min(e1, e2))
        for s1, e1 in beliefs["a"]
        for s2, e2 in beliefs["b"]
        if max(s1, s2) < min(e1, e2)
    )
    events = []
    for line in (folder / "etcd-watch.log").read_text().splitlines():
        stamp, document = line.split(" ", 1)
        (event,) = json.loads(document)["Events"]
        value = (
            None
            if event.get("type") == 1
            else __import__("base64").b64decode(event["kv"]["value"]).decode()
        )
        events.append((ms(stamp), value))
    stale = set()
    for line in (folder / "ledger.jsonl").read_text().splitlines():
        row = json.loads(line)
        at = ms(row["time"])
        named = [value for moment, value in events if moment < at]
        if (named[-1] if named else None) != row["request"]["writer"]:
            stale.add(row["entry"])
    return overlaps, stale


@pytest.mark.parametrize("seed", [CHECK_SEED, *range(1, 11)])
def test_the_files_tell_exactly_the_facts_the_checker_grades(grader, tmp_path, seed):
    night = grader.incident.simulate(seed)
    grader.incident.render(night, tmp_path)
    overlaps, stale = read_back(tmp_path, night.start)
    assert overlaps == grader.incident_answer.true_overlaps(night)
    assert stale == grader.incident_answer.stale_entries(night)


def test_the_incident_replays_the_starters_timings(grader):
    source = (LAB / "starter" / "replica.py").read_text()
    for name, value in (
        ("LEASE_TTL_S", 1),
        ("KEEPALIVE_EVERY_S", 0.25),
        ("APPEND_EVERY_S", 0.1),
        ("CAMPAIGN_EVERY_S", 0.25),
    ):
        assert re.search(rf"^{name} = {value}$", source, re.M), name
        assert getattr(grader.incident, name.replace("_S", "_MS")) == round(value * 1000)


def test_the_handed_in_answer_is_right_for_the_check_seed(grader, night):
    answer, problem = grader.incident_answer.read_answer(
        (LAB / "solution" / "incident.json").read_bytes()
    )
    assert grader.incident_answer.grade_overlaps(answer, problem, night, 1.0)[0] == 1.0
    assert grader.incident_answer.grade_stale_writes(answer, problem, night, 2.0)[0] == 2.0


# -- grading incident.json --------------------------------------------------------------


def exact(grader, night):
    return {
        "overlaps": [
            [night.time(s), night.time(e)] for s, e in grader.incident_answer.true_overlaps(night)
        ],
        "stale_writes": sorted(grader.incident_answer.stale_entries(night)),
    }


def grade(grader, night, answer):
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    parsed, problem = grader.incident_answer.read_answer(raw)
    overlaps = grader.incident_answer.grade_overlaps(parsed, problem, night, 1.0)
    stale = grader.incident_answer.grade_stale_writes(parsed, problem, night, 2.0)
    return overlaps, stale


@pytest.mark.parametrize(
    "data",
    [None, b"not json", b"[]", b'{"overlaps": [], "stale_writes": [], "notes": "x"}'],
    ids=["missing", "not JSON", "not an object", "an unknown key"],
)
def test_an_unreadable_answer_earns_nothing_and_says_what_is_expected(grader, night, data):
    parsed, problem = grader.incident_answer.read_answer(data)
    assert parsed is None and "incident.json" in problem
    score, output = grader.incident_answer.grade_overlaps(parsed, problem, night, 1.0)
    assert score == 0 and output == problem


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        (["2024-07-22T01:12:26.761", "2024-07-22T01:12:35.703Z"], "no UTC offset"),
        (["01:12:26.761Z", "01:12:35.703Z"], "ISO 8601"),
        (["2024-07-22T01:12:35.703Z", "2024-07-22T01:12:26.761Z"], "does not end after"),
        ([1721610746761, 1721610755703], "not a string"),
    ],
)
def test_an_ambiguous_or_malformed_time_voids_the_overlaps_only(grader, night, pair, says):
    answer = {**exact(grader, night), "overlaps": [pair]}
    (overlap_score, output), (stale_score, _) = grade(grader, night, answer)
    assert overlap_score == 0 and says in output
    assert stale_score == 2.0


def test_times_at_another_offset_are_the_same_moments(grader, night):
    answer = exact(grader, night)
    answer["overlaps"] = [
        [datetime.fromisoformat(t).astimezone().isoformat(timespec="milliseconds") for t in pair]
        for pair in answer["overlaps"]
    ]
    assert grade(grader, night, answer)[0][0] == 1.0


def test_the_overlap_score_is_the_jaccard_index_of_the_time_covered(grader):
    score = grader.incident_answer.overlap_score
    truth = [(1000, 3000), (5000, 6000)]
    assert score(truth, truth, 1.0) == 1.0
    assert score([(1000, 2000)], truth, 1.0) == round(1000 / 3000, 2)
    assert score([(0, 10000)], truth, 1.0) == round(3000 / 10000, 2)
    assert score([(0, 1000)], truth, 1.0) == 0.0
    # Overlapping intervals in an answer are not counted twice.
    assert score([(1000, 3000), (2000, 3000), (5000, 6000)], truth, 1.0) == 1.0


def test_the_overlap_score_moves_smoothly_with_an_interval_end(grader):
    truth = [(10_000, 20_000)]
    scores = [
        grader.incident_answer.overlap_score([(10_000, end)], truth, 1.0)
        for end in range(12_000, 20_001, 500)
    ]
    assert scores == sorted(scores)
    assert max(b - a for a, b in zip(scores, scores[1:], strict=False)) <= 0.06


def test_listing_every_entry_as_stale_earns_nothing(grader, night):
    answer = {**exact(grader, night), "stale_writes": [row["entry"] for row in night.ledger]}
    assert grade(grader, night, answer)[1][0] == 0.0


def test_a_repeated_id_counts_once(grader, night):
    answer = exact(grader, night)
    answer["stale_writes"] = answer["stale_writes"] * 2
    score, output = grade(grader, night, answer)[1]
    assert score == 2.0 and "each counts once" in output


@pytest.mark.parametrize(("stale", "entries"), [(185, 1338), (40, 900), (7, 1500)])
def test_stale_credit_rises_with_every_right_id_and_never_jumps(grader, stale, entries):
    score = grader.incident_answer.stale_score
    share = 2.0 / stale
    previous = 0.0
    for found in range(stale + 1):
        now = score(found=found, wrong=0, stale=stale, entries=entries, points=2.0)
        assert now >= previous and now - previous <= share + 0.01
        assert abs(now - 2.0 * found / stale) <= 0.005
        previous = now
    wrong_ones = [
        score(found=stale, wrong=w, stale=stale, entries=entries, points=2.0) for w in range(0, 60)
    ]
    assert wrong_ones == sorted(wrong_ones, reverse=True)
    assert (
        score(found=stale, wrong=entries - stale, stale=stale, entries=entries, points=2.0) == 0.0
    )


def test_a_list_of_non_integers_is_explained(grader, night):
    answer = {**exact(grader, night), "stale_writes": ["3230", 3231]}
    (_, _), (score, output) = grade(grader, night, answer)
    assert score == 0 and "integers" in output


def test_wrong_ids_are_told_apart_without_naming_them(grader, night):
    answer = exact(grader, night)
    fresh = [
        row["entry"] for row in night.ledger if row["entry"] not in set(answer["stale_writes"])
    ]
    answer["stale_writes"] = answer["stale_writes"][:-1] + fresh[:3] + [10**9]
    score, output = grade(grader, night, answer)[1]
    assert 0 < score < 2.0
    assert "3 are appends from the replica the key named" in output
    assert "1 are not entries" in output
    assert str(fresh[0]) not in output


# -- the schedules (part B) -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_every_schedule_restarts_each_member_once_and_pauses_twice(grader, seed):
    for steps in [
        grader.schedules.visible_schedule(seed),
        *grader.schedules.hidden_schedules(seed),
    ]:
        members = [step.member for step in steps if step.member]
        assert sorted(members) == ["m1", "m2", "m3"]
        pauses = [step for step in steps if step.kind == "pause"]
        assert len(steps) == 4 and len(pauses) == 2
        assert sorted(step.in_flight for step in pauses) == [False, True]
        assert sum(1 for step in pauses if step.member) == 1


def test_the_visible_schedule_is_the_drills_and_the_hidden_ones_are_salted(grader, monkeypatch):
    assert grader.schedules.visible_schedule(17) == grader.drill.schedule_for(17)
    hidden = grader.schedules.hidden_schedules(17)
    assert hidden == grader.schedules.hidden_schedules(17)
    monkeypatch.setattr(grader.schedules, "HIDDEN_SALT", "another salt")
    assert grader.schedules.hidden_schedules(17) != hidden


def test_hidden_schedules_are_not_the_visible_one_for_most_seeds(grader):
    same = sum(
        grader.schedules.visible_schedule(seed) in grader.schedules.hidden_schedules(seed)
        for seed in range(300)
    )
    assert same <= 12  # about 2 in 144 by chance


def test_the_hidden_game_days_carry_most_of_part_b(grader):
    check = grader.check
    hidden = check.HIDDEN_POINTS * grader.schedules.HIDDEN_SCHEDULES
    assert hidden >= 5 * check.VISIBLE_POINTS
    total = hidden + check.VISIBLE_POINTS + check.OVERLAP_POINTS + check.STALE_POINTS
    assert total == 10


# -- the verdicts -----------------------------------------------------------------------


def result(grader, appends, phases):
    steps = grader.schedules.visible_schedule(CHECK_SEED)
    return grader.drill.DrillResult(steps, phases, appends, {"a": None, "b": None})


def all_phases(grader, steps):
    count = 1 + sum(1 if step.kind == "restart" else 3 for step in steps)
    return [grader.drill.Phase(f"phase {n}", True, 0.5) for n in range(count)]


def test_a_game_day_passes_with_progress_after_every_fault_and_no_bad_append(grader):
    steps = grader.schedules.visible_schedule(CHECK_SEED)
    done = result(grader, [append(grader, held_by=holder(grader))], all_phases(grader, steps))
    passed, output = grader.verdicts.schedule_verdict(done, {})
    assert passed and "Passed" in output and "1 append:" in output


def test_a_deposed_append_is_described_with_what_etcd_said(grader):
    steps = grader.schedules.visible_schedule(CHECK_SEED)
    bad = append(grader, sender="a", fence=7, held_by=holder(grader, value="b", revision=12))
    passed, output = grader.verdicts.schedule_verdict(
        result(grader, [bad], all_phases(grader, steps)), {}
    )
    assert not passed
    assert "named 'b' (create_revision 12)" in output and "deposed" in output


def test_a_stall_fails_the_game_day_and_says_which_wait(grader):
    phases = [grader.drill.Phase("a leader appends", False, 6.0, "did not happen within 6 s")]
    passed, output = grader.verdicts.schedule_verdict(
        result(grader, [], phases), {"a": "exited with code 1"}
    )
    assert not passed
    assert "No progress: a leader appends: did not happen within 6 s" in output
    assert "Replica a exited with code 1" in output


# -- the stand-in etcd ------------------------------------------------------------------


@pytest.fixture
def store():
    sys.path.insert(0, str(LAB / "starter"))
    try:
        import fake_etcd
    finally:
        sys.path.remove(str(LAB / "starter"))
    return fake_etcd, fake_etcd.FakeStore()


def b64(text):
    return __import__("base64").b64encode(text.encode()).decode()


def test_the_stand_in_creates_the_key_once_and_deletes_it_with_its_lease(store):
    fake_etcd, etcd = store
    lease = etcd.grant({"TTL": 1})["ID"]
    create = {
        "compare": [{"target": "CREATE", "key": b64("/ledger/leader"), "createRevision": 0}],
        "success": [
            {"requestPut": {"key": b64("/ledger/leader"), "value": b64("a"), "lease": lease}}
        ],
    }
    assert etcd.txn(create)["succeeded"] is True
    assert etcd.txn(create)["succeeded"] is False
    (kv,) = etcd.range({"key": b64("/ledger/leader")})["kvs"]
    assert kv["lease"] == lease and kv["create_revision"] == str(etcd.revision)
    assert etcd.keepalive({"ID": lease})["result"]["TTL"] == "1"
    etcd.leases[int(lease)]["expires"] = 0  # as if a TTL had passed without keepalives
    etcd.expire()
    assert etcd.range({"key": b64("/ledger/leader")})["kvs"] == []
    assert "TTL" not in etcd.keepalive({"ID": lease})["result"]
    with pytest.raises(fake_etcd.NotFound):
        etcd.revoke({"ID": lease})


# -- the seccomp wrapper ----------------------------------------------------------------


@pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"),
    reason="the wrapper's filter is for Linux on x86-64 and arm64",
)
def test_the_wrapper_leaves_out_preallocation_only(grader, tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import ctypes, os, sys\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]\n"
        "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
        "print(libc.fallocate(fd, 0, 0, 1 << 20), ctypes.get_errno())\n"
        "os.ftruncate(fd, 64 << 20); print(os.fstat(fd).st_size)\n"
        "os.ftruncate(fd, 4096); print(os.fstat(fd).st_size)\n"
    )
    wrapper = grader.folder / "no_preallocate.py"
    run = subprocess.run(
        [sys.executable, "-I", str(wrapper), sys.executable, str(probe), str(tmp_path / "f")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.split("\n")[:3] == [f"-1 {errno.EOPNOTSUPP}", "0", "4096"]
    ctypes.CDLL(None)  # the test process itself is untouched


# -- the checker's files ----------------------------------------------------------------


def test_the_checker_uses_only_the_public_harness_api():
    """No file of the lab imports or reaches into a `_` name, the harness's or another's."""
    assert private_uses(LAB, imported_from="downstack_harness") == []


def test_the_replica_gets_the_same_command_from_the_drill_and_the_checker(grader):
    assert grader.drill.replica_command("a")[:2] == ["python3", "replica.py"]
    command = grader.drill.replica_command("b")
    assert command[command.index("--ledger") + 1] == "http://127.0.0.1:7070"
    assert os.path.basename(grader.check.__file__) == "check.py"
