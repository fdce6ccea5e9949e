"""The learner's own skills record, and the published one anyone with its link may read."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog import tracks
from catalog.models import Track
from grading.intake import passed_labs
from records import credentials, evidence
from records.models import Credential, SkillsRecord

MAX_NAME = 80


@login_required
def my_record(request):
    record, _ = SkillsRecord.objects.get_or_create(user=request.user)
    passed = evidence.passed_evidence(request.user)
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("save", "publish"):
            name = " ".join(request.POST.get("display_name", "").split())[:MAX_NAME]
            chosen = {item.lab.pk for item in passed} & _ints(request.POST.getlist("labs"))
            record.display_name = name
            record.save(update_fields=["display_name", "updated_at"])
            record.shown_labs.set(chosen)
            if action == "publish":
                if not name:
                    error = "Give the name your published record shows before publishing it."
                elif not record.is_published:
                    record.token = SkillsRecord.new_token()
                    record.published_at = timezone.now()
                    record.save(update_fields=["token", "published_at", "updated_at"])
                    messages.success(request, "Published. Anyone with the link can read it.")
            if not error:
                if action == "save":
                    messages.success(request, "Saved.")
                return redirect("records:mine")
        elif action == "revoke" and record.is_published:
            record.token = None
            record.published_at = None
            record.save(update_fields=["token", "published_at", "updated_at"])
            messages.success(request, "Revoked: the link no longer opens your record.")
            return redirect("records:mine")
    shown = set(record.shown_labs.values_list("pk", flat=True))
    # Until the learner has chosen, every passed lab is offered ticked (nothing is
    # published before they press Publish).
    chosen_before = bool(shown or record.display_name or record.is_published)
    checked = shown if chosen_before else {item.lab.pk for item in passed}
    done = [p for p in tracks.places(tracks.active_tracks(), passed_labs(request.user)) if p.done]
    issued = {c.track_id: c for c in Credential.objects.filter(user=request.user)}
    return render(
        request,
        "records/mine.html",
        {
            "record": record,
            "completed": [(place, issued.get(place.track.pk)) for place in done],
            "skills": evidence.skills(passed),
            "passed": passed,
            "checked": checked,
            "error": error,
        },
        status=400 if error else 200,
    )


def public_record(request, token):
    """Exactly what the learner chose: their chosen name, and the skills and evidence of
    the labs they chose. No account, no check, no file, nobody else."""
    record = SkillsRecord.objects.filter(token=token).first()
    if record is None:
        raise Http404("No published record at this link")
    shown = evidence.passed_evidence(record.user, record.shown_labs.all())
    return render(
        request,
        "records/public.html",
        {"record": record, "skills": evidence.skills(shown), "evidence": shown},
    )


def _ints(values) -> set[int]:
    return {int(value) for value in values if value.isdigit()}


def _base_url(request) -> str:
    return settings.SITE_URL or request.build_absolute_uri("/")


@login_required
@require_POST
def credential_download(request, slug):
    """The learner's credential for a track they completed, issued the first time."""
    track = get_object_or_404(Track.objects.active(), slug=slug)
    record, _ = SkillsRecord.objects.get_or_create(user=request.user)
    try:
        credential = credentials.credential_issue(
            user=request.user,
            track=track,
            subject_name=record.display_name,
            passed=passed_labs(request.user),
            base_url=_base_url(request),
        )
    except credentials.NotEarned as exc:
        messages.error(request, str(exc))
        return redirect("records:mine")
    response = HttpResponse(credential.token + "\n", content_type="application/jwt")
    response["Content-Disposition"] = f'attachment; filename="downstack-{track.slug}.jwt"'
    return response


def issuer_profile(request):
    return JsonResponse(credentials.issuer_profile(_base_url(request)))


def issuer_keys(request):
    return JsonResponse(credentials.jwks())


def credential_verify(request):
    """Anyone may paste a credential here and learn whether it is genuine, unrevoked and
    whose it is."""
    verdict = None
    token = ""
    if request.method == "POST":
        token = request.POST.get("credential", "")[:20_000]
        upload = request.FILES.get("file")
        if upload is not None and upload.size <= 20_000:
            token = upload.read().decode("utf-8", "replace")
        verdict = credentials.verify(token)
    return render(request, "records/verify.html", {"verdict": verdict, "token": token})


@login_required
@require_POST
def credential_revoke(request, pk):
    """Site staff revoke a credential (academic misconduct, a mistake), giving the reason;
    the verification page says so from then on. Nobody else finds this page."""
    if not request.user.is_staff:
        raise Http404("No such page")
    credential = get_object_or_404(Credential, pk=pk)
    reason = " ".join(request.POST.get("reason", "").split())
    if not reason:
        messages.error(request, "Say why the credential is revoked.")
    elif credential.revoked_at is None:
        credentials.revoke(credential, reason=reason)
        messages.success(request, f"Revoked the credential of {credential.subject_name}.")
    return render(
        request,
        "records/verify.html",
        {"verdict": credentials.verify(credential.token), "token": credential.token},
        status=200 if reason else 400,
    )
