"""`labs sync`: idempotent, says what changed, keeps a good lab when its folder breaks."""

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Lab
from catalog.rendering import render_markdown
from tests.conftest import write_lab


def sync_output(capsys):
    call_command("labs", "sync")
    return capsys.readouterr().out


@pytest.mark.django_db
def test_sync_adds_then_reports_unchanged(labs_dir, capsys):
    write_lab(labs_dir, "lab-a", "print(1)\n")
    assert "added  lab-a" in sync_output(capsys)
    assert "unchanged  lab-a" in sync_output(capsys)
    assert Lab.objects.count() == 1


@pytest.mark.django_db
def test_sync_updates_a_changed_lab(labs_dir, capsys):
    path = write_lab(labs_dir, "lab-a", "print(1)\n")
    sync_output(capsys)
    (path / "README.md").write_text("# New words\n")
    assert "updated  lab-a" in sync_output(capsys)
    assert "New words" in Lab.objects.get().instructions_html


@pytest.mark.django_db
def test_sync_retires_a_removed_lab_and_revives_it(labs_dir, capsys):
    path = write_lab(labs_dir, "lab-a", "print(1)\n")
    sync_output(capsys)
    moved = path.rename(labs_dir.parent / "aside")
    assert "retired  lab-a" in sync_output(capsys)
    assert not Lab.objects.get().is_active
    moved.rename(path)
    assert "updated  lab-a" in sync_output(capsys)
    assert Lab.objects.get().is_active


@pytest.mark.django_db
def test_malformed_lab_fails_the_command_and_keeps_the_stored_version(labs_dir, capsys):
    path = write_lab(labs_dir, "lab-a", "print(1)\n")
    sync_output(capsys)
    toml = path / "lab.toml"
    toml.write_text(toml.read_text().replace('difficulty = "intro"', "difficulty = 3"))
    with pytest.raises(CommandError, match="could not be loaded"):
        call_command("labs", "sync")
    err = capsys.readouterr().err
    assert "lab-a/lab.toml: difficulty: must be text" in err
    assert Lab.objects.get().is_active


def test_markdown_never_passes_raw_html():
    html = render_markdown("# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert '<h1 id="title">Title' in html


@pytest.mark.django_db
def test_seeded_lab_gives_each_learner_a_stable_distinct_seed(labs_dir, capsys, make_user):
    write_lab(labs_dir, "seeded", "print(1)\n", extra_toml="\n[grader]\nseeded = true\n")
    path = labs_dir / "seeded" / "lab.toml"
    assert "[grader]" in path.read_text()
    sync_output(capsys)
    lab = Lab.objects.get(slug="seeded")
    ada, linus = make_user("ada"), make_user("linus")
    assert lab.seeded
    assert lab.seed_for(ada) == lab.seed_for(ada)
    assert lab.seed_for(ada) != lab.seed_for(linus)
    assert 0 <= lab.seed_for(ada) < 2**31


@pytest.mark.django_db
def test_unseeded_lab_has_no_seed(labs_dir, capsys, make_user):
    write_lab(labs_dir, "plain", "print(1)\n")
    sync_output(capsys)
    assert Lab.objects.get(slug="plain").seed_for(make_user("ada")) is None


def test_code_blocks_are_highlighted_on_the_server_and_headings_are_linkable():
    html = render_markdown("## Run it\n\n```python\nimport os\n```\n")
    assert '<h2 id="run-it">' in html and 'href="#run-it"' in html
    assert '<pre class="highlight"><code class="language-python">' in html
    assert '<span class="kn">import</span>' in html


def test_code_in_an_unknown_language_is_escaped_not_executed():
    html = render_markdown("```nosuchlang\n<script>alert(1)</script>\n```\n")
    assert "<script>" not in html and "&lt;script&gt;" in html
