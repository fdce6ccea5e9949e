"""Credentials an employer can verify: a learner who completes a track downloads an Open
Badges 3.0 credential (a VC-JWT signed with the site's Ed25519 key); an independent
verifier (PyJWT and nothing of Downstack) checks it against the published keys; the
verification page says it is genuine and whose it is, and refuses a tampered one and a
revoked one; old credentials still verify after the key is rotated."""

import base64
import json
import shutil
from pathlib import Path

import jwt
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import Lab, Track
from catalog.sync import labs_sync
from records import credentials
from records.models import Credential, SkillsRecord
from tests.passes import graded

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def track(labs_dir):
    for slug in ("inference-capacity", "gpu-gang-scheduling"):
        shutil.copytree(ROOT / "labs" / slug, labs_dir / slug)
    (labs_dir.parent / "tracks").mkdir()
    shutil.copy(ROOT / "tracks" / "ai-infrastructure.toml", labs_dir.parent / "tracks")
    labs_sync(root=labs_dir)
    return Track.objects.get(slug="ai-infrastructure")


def pass_lab(user, slug: str) -> None:
    graded(user, Lab.objects.get(slug=slug))


def download(client, track) -> str:
    response = client.post(reverse("records:credential_download", args=[track.slug]))
    assert response.status_code == 200, response.content[:300]
    assert (
        response["Content-Disposition"] == 'attachment; filename="downstack-ai-infrastructure.jwt"'
    )
    return response.content.decode().strip()


def independent_check(token: str) -> dict:
    """What any relying party does: fetch the published keys, pick the token's, verify."""
    anyone = Client()
    keys = jwt.PyJWKSet.from_dict(anyone.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["EdDSA"], options={"verify_aud": False})


def verify_page(token: str) -> str:
    response = Client().post(reverse("records:verify"), {"credential": token})
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def earned(client, learner, track):
    SkillsRecord.objects.create(user=learner, display_name="Ada Lovelace")
    pass_lab(learner, "inference-capacity")
    pass_lab(learner, "gpu-gang-scheduling")
    client.force_login(learner)
    return download(client, track)


def test_an_unfinished_track_or_a_nameless_record_earns_no_credential(
    client, learner, track
) -> None:
    client.force_login(learner)
    pass_lab(learner, "inference-capacity")
    response = client.post(reverse("records:credential_download", args=[track.slug]), follow=True)
    assert "Pass every lab of “AI infrastructure” first" in response.content.decode()
    pass_lab(learner, "gpu-gang-scheduling")
    response = client.post(reverse("records:credential_download", args=[track.slug]), follow=True)
    assert "Give your record a name first" in response.content.decode()
    assert not Credential.objects.exists()


def test_the_credential_is_an_open_badge_an_independent_verifier_accepts(
    client, earned, learner, track
) -> None:
    claims = independent_check(earned)
    profile = Client().get("/.well-known/openbadges-issuer.json").json()

    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json" in claims["@context"]
    assert claims["iss"] == claims["issuer"]["id"] == profile["id"]
    assert profile["type"] == ["Profile"] and profile["jwks_uri"].endswith("/.well-known/jwks.json")
    assert claims["jti"] == claims["id"] and claims["sub"] == claims["credentialSubject"]["id"]
    subject = claims["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"] and subject["name"] == "Ada Lovelace"
    assert subject["achievement"]["name"] == "AI infrastructure"
    assert learner.username not in json.dumps(claims)
    assert jwt.get_unverified_header(earned)["alg"] == "EdDSA"
    # The same credential again, not a second one.
    assert download(client, track) == earned and Credential.objects.count() == 1

    page = verify_page(earned)
    assert "Genuine." in page and "Ada Lovelace" in page and "AI infrastructure" in page


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["name"] = "Mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


def test_a_tampered_credential_is_refused_by_the_page_and_by_any_verifier(earned) -> None:
    forged = tampered(earned)

    with pytest.raises(jwt.InvalidSignatureError):
        independent_check(forged)
    page = verify_page(forged)
    assert "Not genuine." in page and "signature does not match" in page
    assert "Mallory" not in page.split("<form", 1)[0]
    assert "Not genuine." in verify_page("not a credential at all")


def test_staff_revoke_a_credential_and_the_page_refuses_it_from_then_on(
    client, earned, staff, learner
) -> None:
    credential = Credential.objects.get()
    url = reverse("records:credential_revoke", args=[credential.pk])
    assert client.post(url, {"reason": "cheating"}).status_code == 404  # the learner
    client.force_login(staff)
    assert (
        "Revoke it (staff)"
        in client.post(reverse("records:verify"), {"credential": earned}).content.decode()
    )

    nameless = client.post(url, {"reason": " "})
    assert nameless.status_code == 400 and Credential.objects.get().revoked_at is None
    response = client.post(url, {"reason": "Academic misconduct in a track lab"})

    assert response.status_code == 200 and "Revoked." in response.content.decode()
    page = verify_page(earned)
    assert "Revoked." in page and "Genuine." not in page
    assert Credential.objects.get().revoked_reason == "Academic misconduct in a track lab"
    assert "Academic misconduct" not in page  # the reason is for staff


def test_credentials_signed_before_a_key_rotation_still_verify(
    client, earned, other_learner, track
) -> None:
    old_kid = jwt.get_unverified_header(earned)["kid"]
    credentials.rotate_key()
    SkillsRecord.objects.create(user=other_learner, display_name="Linus T.")
    pass_lab(other_learner, "inference-capacity")
    pass_lab(other_learner, "gpu-gang-scheduling")
    client.force_login(other_learner)

    newer = download(client, track)

    assert jwt.get_unverified_header(newer)["kid"] != old_kid
    keys = Client().get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 2 and all(key["kty"] == "OKP" and "d" not in key for key in keys)
    assert independent_check(earned)["credentialSubject"]["name"] == "Ada Lovelace"
    assert "Genuine." in verify_page(earned) and "Genuine." in verify_page(newer)


def test_the_rotate_key_command_keeps_the_old_key_published(earned) -> None:
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("credentials", "rotate-key", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Signing with key-")
    assert "retired" in lines[1] and "signed 1 credential(s)" in lines[1]
    assert "signing" in lines[2] and "signed 0 credential(s)" in lines[2]
    assert "Genuine." in verify_page(earned)


def test_a_cohort_page_shows_each_learner_on_its_tracks_and_exports_the_credentials(
    client, earned, learner, other_learner, make_user, track
) -> None:
    from cohorts.models import Assignment, Cohort, Membership

    teacher = make_user("tess")
    cohort = Cohort.objects.create(name="Spring")
    for user, role in ((learner, "learner"), (other_learner, "learner"), (teacher, "instructor")):
        Membership.objects.create(cohort=cohort, user=user, role=role)
    now = timezone.now()
    for step in track.steps.all():
        Assignment.objects.create(cohort=cohort, lab=step.lab, opens_at=now, due_at=now)
    pass_lab(other_learner, "inference-capacity")
    client.force_login(teacher)

    page = client.get(reverse("cohorts:tracks", args=[cohort.pk])).content.decode()
    export = client.get(reverse("cohorts:credentials_csv", args=[cohort.pk]))
    rows = b"".join(export.streaming_content).decode().splitlines()

    assert "AI infrastructure" in page
    assert "2 of 2 · complete" in page and "credential issued" in page
    assert "1 of 2 · next: The training job that never starts" in page
    assert rows[0] == "learner,name on it,track,issued,credential,revoked,why revoked"
    assert len(rows) == 2 and rows[1].startswith("ada,Ada Lovelace,ai-infrastructure,")
