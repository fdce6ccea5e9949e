"""Cohort pages: creating, renaming and archiving, joining, the roster, assignments, the
dashboard, drill-down, exports and regrades. Every instructor page fetches its cohort
through Cohort.objects.taught_by()."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from catalog.models import Lab
from cohorts import charts
from cohorts.dashboard import (
    SORTS,
    RiskRules,
    dashboard_build,
    learner_rows,
    skill_columns,
    skill_mastery,
)
from cohorts.exports import gradebook_lines, results_json_chunks
from cohorts.forms import (
    AssignmentForm,
    CohortForm,
    CohortSettingsForm,
    InviteForm,
    JoinForm,
    MemberAddForm,
)
from cohorts.models import Cohort, Invite, InviteInvalid, regrade_changes
from cohorts.services import (
    RegradeNotReady,
    cohort_create,
    regrade_start,
)
from cohorts.services import cohort_join as join_cohort
from cohorts.services import (
    regrade_apply as apply_regrade,
)
from cohorts.services import (
    regrade_discard as discard_regrade,
)
from cohorts.tracks import credentials_lines
from cohorts.tracks import learner_rows as cohort_track_rows
from grading.models import Submission, score_percent


def _taught(request, pk) -> Cohort:
    return get_object_or_404(Cohort.objects.taught_by(request.user), pk=pk)


@login_required
def cohort_list(request):
    """The cohorts one teaches and learns in; ?archived=1 lists the archived ones one teaches."""
    show_archived = request.GET.get("archived") == "1"
    taught = Cohort.objects.taught_by(request.user)
    return render(
        request,
        "cohorts/cohort_list.html",
        {
            "show_archived": show_archived,
            "taught": taught.archived() if show_archived else taught.active(),
            "archived_count": taught.archived().count(),
            "joined": Cohort.objects.joined_by(request.user).active(),
            "can_create": Cohort.creatable_by(request.user),
            "form": JoinForm(),
        },
    )


@login_required
def cohort_new(request):
    if not Cohort.creatable_by(request.user):
        raise PermissionDenied("Only site staff and instructors they appoint create cohorts.")
    form = CohortForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cohort = cohort_create(name=form.cleaned_data["name"], creator=request.user)
        messages.success(
            request, f"Created {cohort.name}. Create an invite below and send its link to learners."
        )
        return redirect("cohorts:roster", cohort.pk)
    return render(
        request, "cohorts/cohort_new.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def cohort_settings(request, pk):
    """Rename, archive or restore a cohort (its instructors and site staff)."""
    cohort = _taught(request, pk)
    form = CohortForm(instance=cohort)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rename":
            # A copy, so that a refused name does not show in the page's own heading.
            form = CohortForm(request.POST, instance=Cohort.objects.get(pk=cohort.pk))
            if form.is_valid():
                renamed = form.save()
                messages.success(request, f"Renamed the cohort to {renamed.name}.")
                return redirect("cohorts:settings", cohort.pk)
        elif action == "archive":
            cohort.archive()
            messages.success(
                request,
                f"Archived {cohort.name}: it is off the lists and takes no new members. "
                "Its data and exports are kept; restore it from “Show archived cohorts”.",
            )
            return redirect("cohorts:list")
        elif action == "restore":
            cohort.restore()
            messages.success(request, f"Restored {cohort.name}.")
            return redirect("cohorts:settings", cohort.pk)
    return render(
        request,
        "cohorts/settings.html",
        {"cohort": cohort, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def cohort_join(request, code=""):
    """Join with a code. An invite link also works logged out: it names the cohort and
    offers sign-up (which joins on the way) or log-in (which comes back here)."""
    if not request.user.is_authenticated:
        if request.method == "POST" or not code:
            return redirect_to_login(request.get_full_path())
        return _invitation(request, code)
    form = JoinForm(request.POST or None, initial={"code": code})
    if request.method == "POST" and form.is_valid():
        try:
            membership = join_cohort(code=form.cleaned_data["code"], user=request.user)
        except InviteInvalid as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(request, f"You joined {membership.cohort}.")
            return redirect("cohorts:my_progress", membership.cohort_id)
    invite, problem = _invite_for(code)
    return render(
        request,
        "cohorts/join.html",
        {
            "form": form,
            "invite": invite,
            "problem": problem if not form.errors else "",
            "code": code,
        },
        status=400 if form.errors else 200,
    )


def _invite_for(code: str) -> tuple[Invite | None, str]:
    """The usable invite a link's code names, or why there is none."""
    if not code:
        return None, ""
    try:
        return Invite.objects.usable(code), ""
    except InviteInvalid as exc:
        return None, str(exc)


def _invitation(request, code: str):
    invite, problem = _invite_for(code)
    return render(
        request,
        "cohorts/invitation.html",
        {
            "invite": invite,
            "problem": problem,
            "code": code,
            "signup": settings.SIGNUP,
            "login_url": f"{reverse('login')}?next={request.path}",
        },
    )


def _page_number(value: str) -> int:
    return int(value) if value.isdigit() else 1


@login_required
def dashboard(request, pk):
    cohort = _taught(request, pk)
    query = request.GET.get("q", "").strip()[:150]
    board = dashboard_build(
        cohort,
        sort=request.GET.get("sort", "name"),
        query=query,
        page=_page_number(request.GET.get("page", "")),
    )
    learner_url = reverse("cohorts:learner", args=[cohort.pk, 0]).replace("/0/", "/{}/")
    heatmap = charts.heatmap_body(board.page.rows, learner_url.format)
    lab_charts = [
        (
            stats,
            charts.bar_figure(
                stats.histogram,
                [f"{10 * i}" for i in range(10)],
                title=f"Counted scores on {stats.lab.title}",
                x_title="counted score (% of full marks, decile start)",
                y_title="learners",
            ),
        )
        for stats in board.labs
    ]
    activity_chart = charts.bar_figure(
        [n for _, n in board.activity],
        [day.strftime("%d %b") for day, _ in board.activity],
        title="Submissions per day",
        x_title="day (UTC)",
        y_title="submissions",
        label_every=7,
        width=640,
    )
    skills_chart = charts.skill_bars(board.cohort_skills, title="Cohort mastery per skill")
    page = board.page
    keep = {"sort": page.sort, **({"q": query} if query else {})}
    return render(
        request,
        "cohorts/dashboard.html",
        {
            "cohort": cohort,
            "board": board,
            "heatmap": heatmap,
            "page": page,
            "sort": page.sort,
            "sorts": SORTS,
            "query": query,
            "previous_url": _query_url(keep, page.number - 1) if page.number > 1 else "",
            "next_url": _query_url(keep, page.number + 1) if page.number < page.pages else "",
            "lab_charts": lab_charts,
            "activity_chart": activity_chart,
            "skills_chart": skills_chart,
            "regrades": cohort.regrades.select_related("lab")[:10],
        },
    )


def _query_url(params: dict, page: int) -> str:
    return "?" + urlencode({**params, "page": page}) + "#heatmap"


@login_required
def my_progress(request, pk):
    """A learner's own view of a cohort: due dates, their counted scores (as the
    gradebook counts them, late work marked) and their mastery per skill."""
    cohort = get_object_or_404(Cohort.objects.joined_by(request.user), pk=pk)
    assignments = list(cohort.assignments.select_related("lab"))
    mine = learner_rows(cohort, assignments, [request.user.pk])[0]
    mastery = skill_mastery(skill_columns(assignments), [c.best for c in mine.cells])
    return render(
        request,
        "cohorts/my_progress.html",
        {
            "cohort": cohort,
            "rows": list(zip(assignments, mine.cells, strict=True)),
            "chart": charts.skill_bars(mastery, title="Your mastery per skill"),
            "now": timezone.now(),
        },
    )


@login_required
def roster(request, pk):
    cohort = _taught(request, pk)
    add_form = MemberAddForm(prefix="add")
    invite_form = InviteForm(prefix="invite")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            add_form = MemberAddForm(request.POST, prefix="add")
            if add_form.has_error("username", "no_account"):
                add_form.errors["username"] = add_form.error_class(
                    [_no_account_message(request, cohort, add_form.data.get("add-username", ""))]
                )
            if add_form.is_valid():
                cohort.add_member(add_form.cleaned_data["username"], add_form.cleaned_data["role"])
                messages.success(request, f"Added {add_form.cleaned_data['username']}.")
                return redirect("cohorts:roster", cohort.pk)
        elif action == "remove":
            membership = get_object_or_404(cohort.memberships, user_id=request.POST.get("user"))
            if membership.user_id == request.user.pk:
                messages.error(request, "You cannot remove yourself; ask another instructor.")
            else:
                membership.delete()
                messages.success(request, f"Removed {membership.user.username}.")
            return redirect("cohorts:roster", cohort.pk)
        elif action == "invite":
            invite_form = InviteForm(request.POST, prefix="invite")
            if invite_form.is_valid():
                days = invite_form.cleaned_data["days"]
                cohort.invites.create(
                    created_by=request.user, expires_at=timezone.now() + timedelta(days=days)
                )
                return redirect("cohorts:roster", cohort.pk)
        elif action == "revoke":
            get_object_or_404(cohort.invites, pk=request.POST.get("invite")).revoke()
            return redirect("cohorts:roster", cohort.pk)
    return render(
        request,
        "cohorts/roster.html",
        {
            "cohort": cohort,
            "members": cohort.memberships.select_related("user"),
            "invites": cohort.invites.all()[:20],
            "add_form": add_form,
            "invite_form": invite_form,
            "now": timezone.now(),
        },
        status=400 if request.method == "POST" else 200,
    )


def _no_account_message(request, cohort: Cohort, username: str) -> str:
    """What to do about a username nobody has: send the cohort's invite link (the newest
    live one, or a new one valid for a week), through which they sign up and join."""
    username = username.strip()
    if settings.SIGNUP == "closed":
        return (
            f"There is no account named {username!r}, and sign-up is closed on this site: "
            "ask site staff to create the account, then add it here."
        )
    if cohort.is_archived:
        return (
            f"There is no account named {username!r}, and this cohort is archived, so its "
            "invites admit nobody: restore it in Settings to invite people."
        )
    invite = cohort.invites.live().first()
    made = ""
    if invite is None:
        invite = cohort.invites.create(
            created_by=request.user, expires_at=timezone.now() + timedelta(days=7)
        )
        made = " (a new one, valid for 7 days)"
    link = request.build_absolute_uri(invite.get_absolute_url())
    return (
        f"There is no account named {username!r}. Send them this invite link{made}: {link} "
        f"— they sign up through it and join {cohort.name} in one step."
    )


@login_required
def assignments(request, pk):
    cohort = _taught(request, pk)
    form = AssignmentForm(cohort=cohort)
    settings_form = CohortSettingsForm(instance=cohort, prefix="settings")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "assign":
            form = AssignmentForm(request.POST, cohort=cohort)
            if form.is_valid():
                made, kept = form.save_assignments()
                if kept:
                    messages.info(
                        request,
                        f"Assigned {len(made)} lab(s); already assigned, and left as they "
                        "were: " + ", ".join(lab.title for lab in kept) + ".",
                    )
                return redirect("cohorts:assignments", cohort.pk)
        elif action == "unassign":
            get_object_or_404(cohort.assignments, pk=request.POST.get("assignment")).delete()
            return redirect("cohorts:assignments", cohort.pk)
        elif action in ("publish", "unpublish"):
            assignment = get_object_or_404(cohort.assignments, pk=request.POST.get("assignment"))
            assignment.grades_published_at = timezone.now() if action == "publish" else None
            assignment.save(update_fields=["grades_published_at"])
            return redirect("cohorts:assignments", cohort.pk)
        elif action == "settings":
            settings_form = CohortSettingsForm(request.POST, instance=cohort, prefix="settings")
            if settings_form.is_valid():
                settings_form.save()
                return redirect("cohorts:assignments", cohort.pk)
    return render(
        request,
        "cohorts/assignments.html",
        {
            "cohort": cohort,
            "assignments": cohort.assignments.select_related("lab"),
            "form": form,
            "settings_form": settings_form,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def learner_detail(request, pk, user_id):
    """Everything one learner handed in for the cohort's labs, hidden checks included."""
    cohort = _taught(request, pk)
    learner = get_object_or_404(cohort.learners(), pk=user_id)
    lab_ids = cohort.assignments.values("lab_id")
    # The cohort came through taught_by() and the learner through the cohort, so their
    # submissions are this instructor's to see (the same rule as Submission.visible_to).
    submissions = list(
        learner.submissions.filter(lab_id__in=lab_ids)
        .select_related("lab")
        .prefetch_related("tests", "files")
        .order_by("lab__title", "-created_at")
    )
    assignments = list(cohort.assignments.select_related("lab"))
    by_lab = {a.lab_id: a for a in assignments}
    for s in submissions:
        # How this attempt counts here: the rule the heatmap and the gradebook follow.
        s.count = (
            by_lab[s.lab_id].attempt_count(score_percent(s.score, s.max_score), s.created_at)
            if s.status == Submission.Status.GRADED
            else None
        )
    now = timezone.now()
    row = learner_rows(cohort, assignments, [learner.pk])[0]
    return render(
        request,
        "cohorts/learner.html",
        {
            "cohort": cohort,
            "learner": learner,
            "submissions": submissions,
            "standing": list(zip(assignments, row.cells, strict=True)),
            "risks": RiskRules.of(cohort, assignments, now).reasons(row, assignments, now),
        },
    )


def _stream(lines, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def gradebook_csv(request, pk):
    cohort = _taught(request, pk)
    return _stream(gradebook_lines(cohort), "text/csv", f"cohort-{cohort.pk}-gradebook.csv")


@login_required
def cohort_tracks(request, pk):
    """Each learner's place on the tracks the cohort assigns, and their credentials."""
    cohort = _taught(request, pk)
    assigned, rows = cohort_track_rows(cohort)
    return render(
        request,
        "cohorts/tracks.html",
        {"cohort": cohort, "tracks": assigned, "rows": rows},
    )


@login_required
def credentials_csv(request, pk):
    cohort = _taught(request, pk)
    return _stream(credentials_lines(cohort), "text/csv", f"cohort-{cohort.pk}-credentials.csv")


@login_required
def results_json(request, pk):
    cohort = _taught(request, pk)
    return _stream(
        results_json_chunks(cohort), "application/json", f"cohort-{cohort.pk}-results.json"
    )


@login_required
@require_POST
def regrade_create(request, pk):
    cohort = _taught(request, pk)
    lab = get_object_or_404(
        Lab.objects.filter(assignments__cohort=cohort), slug=request.POST.get("lab")
    )
    learner = submission = None
    if request.POST.get("learner"):
        learner = get_object_or_404(cohort.learners(), pk=request.POST["learner"])
    if request.POST.get("submission"):
        submission = get_object_or_404(
            Submission.objects.filter(lab=lab, user__in=cohort.learners()),
            pk=request.POST["submission"],
        )
    regrade = regrade_start(
        cohort=cohort, lab=lab, requested_by=request.user, learner=learner, submission=submission
    )
    return redirect(regrade)


@login_required
def regrade_detail(request, pk, regrade_id):
    cohort = _taught(request, pk)
    regrade = get_object_or_404(cohort.regrades.select_related("lab"), pk=regrade_id)
    changes = regrade_changes(regrade)
    return render(
        request,
        "cohorts/regrade.html",
        {
            "cohort": cohort,
            "regrade": regrade,
            "changes": changes,
            "refresh_seconds": 3 if changes["pending"] else None,
        },
    )


@login_required
@require_POST
def regrade_apply(request, pk, regrade_id):
    cohort = _taught(request, pk)
    regrade = get_object_or_404(cohort.regrades, pk=regrade_id)
    try:
        applied = apply_regrade(regrade=regrade)
    except RegradeNotReady as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Applied: {applied} result(s) replaced; the old ones are kept.")
    return redirect(regrade)


@login_required
@require_POST
def regrade_discard(request, pk, regrade_id):
    cohort = _taught(request, pk)
    regrade = get_object_or_404(cohort.regrades, pk=regrade_id)
    discard_regrade(regrade=regrade)
    messages.success(request, "Discarded: no result was changed.")
    return redirect(regrade)
