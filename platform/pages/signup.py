"""Sign-up: a new account at /signup/, joining a cohort on the way when it comes with an
invite (the `invite` code, carried from the invite link).

settings.SIGNUP decides who may sign up: anyone ("open"), only with a usable invite
("invite"), or nobody ("closed"). It lives here, above accounts and cohorts, because it
needs both: accounts makes the user, cohorts checks the invite and adds the member.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.shortcuts import redirect, render

from accounts.forms import SignupForm
from accounts.throttle import SIGNUP as SIGNUP_THROTTLE
from cohorts.models import Invite, InviteInvalid
from cohorts.services import cohort_join


class InviteSignupForm(SignupForm):
    invite = forms.CharField(max_length=32, required=False, label="Invite code")

    def __init__(self, *args, invite_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invite"].required = invite_required
        if invite_required:
            self.fields["invite"].error_messages["required"] = (
                "Sign-up here needs an invite: open the invite link your instructor sent, "
                "or type its code."
            )
        else:
            self.fields["invite"].label = "Invite code (optional)"

    def clean_invite(self) -> Invite | None:
        code = self.cleaned_data["invite"].strip()
        if not code:
            return None
        try:
            return Invite.objects.usable(code)
        except InviteInvalid as exc:
            raise forms.ValidationError(str(exc)) from None


def signup(request):
    mode = settings.SIGNUP
    code = (request.POST.get("invite") or request.GET.get("invite") or "").strip()
    if request.user.is_authenticated:
        # Already in: an invite takes them to the join page, which joins with one click.
        return redirect("cohorts:join_code", code) if code else redirect("catalog:lab_list")
    if mode == "closed":
        return render(request, "registration/signup_closed.html", status=403)
    form = InviteSignupForm(
        request.POST or None, invite_required=mode == "invite", initial={"invite": code}
    )
    if request.method == "POST":
        if SIGNUP_THROTTLE.locked(request):
            form = InviteSignupForm(invite_required=mode == "invite", initial={"invite": code})
            return _page(
                request,
                form,
                code,
                status=429,
                throttled=f"Too many failed sign-ups from your network. "
                f"{SIGNUP_THROTTLE.wait_message()}.",
            )
        if form.is_valid():
            invite = form.cleaned_data["invite"]
            try:
                with transaction.atomic():
                    user = form.save()
                    # In the same transaction: an invite that lapsed since the form was
                    # checked leaves no account behind.
                    membership = cohort_join(code=invite.code, user=user) if invite else None
            except InviteInvalid as exc:
                form.add_error("invite", str(exc))
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                if membership is None:
                    messages.success(request, f"Welcome, {user.username}. Pick a lab to start.")
                    return redirect("catalog:lab_list")
                messages.success(request, f"Welcome, {user.username}: you joined {invite.cohort}.")
                return redirect("cohorts:my_progress", membership.cohort_id)
        SIGNUP_THROTTLE.record(request)
        return _page(request, form, code, status=400)
    return _page(request, form, code)


def _page(request, form, code: str, *, status: int = 200, throttled: str = ""):
    invite = problem = None
    if code:
        try:
            invite = Invite.objects.usable(code)
        except InviteInvalid as exc:
            problem = str(exc)
    return render(
        request,
        "registration/signup.html",
        {
            "form": form,
            "invite": invite,
            # Shown at the top only when the form does not say it already.
            "problem": problem if not form.has_error("invite") else None,
            "mode": settings.SIGNUP,
            "throttled": throttled,
        },
        status=status,
    )
