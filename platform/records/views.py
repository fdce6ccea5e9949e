"""The learner's own skills record, and the published one anyone with its link may read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from records import evidence
from records.models import SkillsRecord

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
    return render(
        request,
        "records/mine.html",
        {
            "record": record,
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
