"""The account page: time zone and API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import TimeZoneForm, TokenForm
from accounts.models import ApiToken, profile_for


@login_required
def account(request):
    profile = profile_for(request.user)
    return render(
        request,
        "accounts/account.html",
        {
            "zone_form": TimeZoneForm(initial={"time_zone": profile.time_zone}),
            "token_form": TokenForm(),
            "tokens": request.user.api_tokens.live(),
            "new_key": request.session.pop("new_api_key", None),
        },
    )


@login_required
@require_POST
def time_zone_set(request):
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        profile = profile_for(request.user)
        profile.time_zone = form.cleaned_data["time_zone"]
        profile.save(update_fields=["time_zone"])
        messages.success(request, f"Times are now shown in {profile.time_zone}.")
    else:
        messages.error(request, "Choose a time zone from the list.")
    return redirect("accounts:account")


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name of at most 80 characters.")
        return redirect("accounts:account")
    _, key = ApiToken.issue(user=request.user, name=form.cleaned_data["name"])
    # Shown once on the next page, then gone: only its hash is kept.
    request.session["new_api_key"] = key
    return redirect("accounts:account")


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(request.user.api_tokens.live(), pk=pk)
    token.revoke()
    messages.success(request, f"Revoked the token “{token.name}”.")
    return redirect("accounts:account")
