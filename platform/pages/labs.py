"""The lab pages: the list of labs with the learner's standing and due dates, one lab's
instructions with its submit form, and the form's submission, which sends a refused
learner back to the lab page with the reasons and their text."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog import tracks
from catalog.models import Lab
from cohorts.models import Assignment
from grading import intake, progress
from grading.forms import UPLOAD, SubmissionForm, editor_field
from grading.models import LabOpening, Submission
from grading.uploads import SubmissionRejected


@login_required
def lab_list(request):
    every = Lab.objects.active()
    skills = sorted({skill for lab in every for skill in lab.skills})
    skill = request.GET.get("skill", "")
    difficulty = request.GET.get("difficulty", "")
    labs = list(progress.labs_with_progress(every, request.user))
    due = Assignment.objects.for_learner(request.user).due_dates()
    for lab in labs:
        lab.my_assignment = due.get(lab.pk)
    passed = {lab.slug for lab in labs if lab.my_passed}
    if skill:
        labs = [lab for lab in labs if skill in lab.skills]
    if difficulty:
        labs = [lab for lab in labs if lab.difficulty == difficulty]
    shown = {lab.pk: lab for lab in labs}
    sections = []
    for place in tracks.places(tracks.active_tracks(), passed):
        # Each step with its lab as annotated for this learner, if the filters keep it.
        cards = [(step, shown[step.lab.pk]) for step in place.steps if step.lab.pk in shown]
        if cards:
            sections.append({"place": place, "cards": cards})
    on_tracks = {step.lab.pk for section in sections for step, _ in section["cards"]}
    return render(
        request,
        "catalog/lab_list.html",
        {
            "labs": labs,
            "sections": sections,
            "other_labs": [lab for lab in labs if lab.pk not in on_tracks],
            "skills": skills,
            "difficulties": Lab.Difficulty.choices,
            "skill": skill,
            "difficulty": difficulty,
        },
    )


@login_required
def lab_detail(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    # The start of the cohort dashboard's "time from first opening to first pass".
    LabOpening.record(user=request.user, lab=lab)
    refusal = request.session.pop(_refusal_key(lab), None)
    if refusal is None:
        form = SubmissionForm(lab=lab, texts=intake.latest_texts(request.user, lab))
        return render_lab_page(request, lab, form)
    return render_lab_page(request, lab, _refused_form(request, lab, refusal), refusal["problem"])


def render_lab_page(request, lab: Lab, form: SubmissionForm, problem=""):
    """The lab page, also shown with the reasons after a refused submission. It says the
    learner's due date and whether the lab is closed to them before they start."""
    this_lab = Assignment.objects.for_learner(request.user).filter(lab=lab)
    return render(
        request,
        "catalog/lab_detail.html",
        {
            "lab": lab,
            "form": form,
            "seed": lab.seed_for(request.user),
            "problem": problem,
            "attempts": request.user.submissions.filter(lab=lab)[:10],
            "assignment": this_lab.select_related("cohort").due_dates().get(lab.pk),
            "closed": Assignment.objects.closed_to(request.user, lab),
            # A Gradescope autograder's results may carry a leaderboard row.
            "track_places": tracks.lab_places(lab, intake.passed_labs(request.user)),
            "has_leaderboard": lab.dialect == "gradescope"
            and Submission.objects.filter(lab=lab, extras__has_key="leaderboard").exists(),
        },
    )


@login_required
@require_POST
def submission_create(request, slug):
    lab = get_object_or_404(Lab.objects.active(), slug=slug)
    too_large = intake.upload_size_problem(lab=lab, request=request)
    if too_large:
        # Refused before Django reads the body; the editor's text is still in the browser,
        # and the page after the redirect starts from the latest texts.
        return _refusal_redirect(request, lab, problem=too_large)
    form = SubmissionForm(
        _with_editor_texts(request.POST.copy(), request.user, lab), request.FILES, lab=lab
    )
    if form.is_valid():
        try:
            files = form.files_by_name(intake.upload_rules(lab))
            submission = intake.submission_create(user=request.user, lab=lab, files=files)
        except SubmissionRejected as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(submission)
    posted = {key: request.POST[key] for key in _form_keys(lab) if key in request.POST}
    return _refusal_redirect(request, lab, data=posted, errors=form.errors.get_json_data())


def _with_editor_texts(data, user, lab: Lab):
    """The upload form carries no editor text; a refusal must not empty the editor."""
    if data.get("source") == UPLOAD:
        for name, text in intake.latest_texts(user, lab).items():
            data.setdefault(editor_field(name), text)
    return data


def _form_keys(lab: Lab) -> list[str]:
    return ["source", *(editor_field(name) for name in lab.submit_files)]


def _refusal_key(lab: Lab) -> str:
    return f"refused_submission:{lab.pk}"


def _refusal_redirect(request, lab: Lab, *, data=None, errors=None, problem=""):
    """Keep why a submission was refused, and what the learner typed, for the one lab page
    that follows, so a refresh of that page cannot post the form again.

    One entry per lab, replaced by the next refusal and removed when shown. Its texts are
    only the editor's, which the request-size check has already bounded; uploaded bytes
    never enter it.
    """
    request.session[_refusal_key(lab)] = {
        "data": data,
        "errors": errors or {},
        "problem": problem,
    }
    return HttpResponseRedirect(lab.get_absolute_url(), status=303)


def _refused_form(request, lab: Lab, refusal: dict) -> SubmissionForm:
    """The form as the refused request left it: bound to the learner's texts, with its
    reasons. Without kept texts (the body was never read), the latest ones."""
    if refusal["data"] is None:
        return SubmissionForm(lab=lab, texts=intake.latest_texts(request.user, lab))
    form = SubmissionForm(_with_editor_texts(refusal["data"], request.user, lab), lab=lab)
    for field, errors in refusal["errors"].items():
        # Non-field errors, and those of a file a re-synced lab no longer takes, go on top.
        name = field if field in form.fields else None
        form.add_error(name, [error["message"] for error in errors])
    return form
