"""Forms for running a cohort: creating and naming it, people, invites, assignments."""

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Lab, Track
from cohorts.models import Assignment, Cohort, Membership


class JoinForm(forms.Form):
    code = forms.CharField(max_length=32, label="Invite code")


class CohortForm(forms.ModelForm):
    """A cohort's name, to create or rename it."""

    class Meta:
        model = Cohort
        fields = ["name"]
        help_texts = {"name": "What learners see, e.g. “Spring 2027 systems bootcamp”."}
        # Blank or only spaces (the field strips them).
        error_messages = {"name": {"required": "Give the cohort a name."}}


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.LEARNER)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            # The roster turns this into a message with the cohort's invite link.
            raise forms.ValidationError(
                f"There is no account named {username!r}.", code="no_account"
            )
        return user


class InviteForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=90, initial=7, label="Valid for (days)")


class AssignmentForm(forms.ModelForm):
    """One lab, or every lab of a track (each its own assignment, with the same dates)."""

    track = forms.ModelChoiceField(
        queryset=Track.objects.none(),
        required=False,
        empty_label="(or a whole track)",
        help_text="Assigns each of its labs, with these dates; labs already assigned stay.",
    )

    class Meta:
        model = Assignment
        fields = ["lab", "track", "opens_at", "due_at", "late_policy", "penalty_per_day"]
        widgets = {
            "opens_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "due_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, cohort: Cohort, **kwargs):
        super().__init__(*args, **kwargs)
        self.cohort = cohort
        # self.fields holds plain Field to the type checker; a ForeignKey's form field
        # is a ModelChoiceField.
        lab_field = cast(forms.ModelChoiceField, self.fields["lab"])
        lab_field.queryset = Lab.objects.active()
        lab_field.required = False
        cast(forms.ModelChoiceField, self.fields["track"]).queryset = Track.objects.active()
        self.fields["penalty_per_day"].help_text = "Percent of full marks per started day late."
        zone = zone_words()
        self.fields["opens_at"].help_text = f"In {zone}."
        self.fields["due_at"].help_text = f"In {zone}; work after it is late."

    def clean(self) -> dict[str, Any]:
        super().clean()
        # ModelForm.clean() hands back self.cleaned_data; its declared type allows None.
        data = self.cleaned_data
        if data.get("opens_at") and data.get("due_at") and data["due_at"] < data["opens_at"]:
            raise forms.ValidationError("The due date must come after the opening date.")
        lab, track = data.get("lab"), data.get("track")
        if bool(lab) == bool(track) and not self.errors:
            raise forms.ValidationError("Choose a lab or a track to assign, not both.")
        taken = self.cohort.assignments.filter(lab=lab).exclude(pk=self.instance.pk)
        if lab and taken.exists():
            raise forms.ValidationError(f"{lab} is already assigned to this cohort.")
        return data

    def save_assignments(self) -> tuple[list[Assignment], list[Lab]]:
        """Save the lab's assignment, or one for each lab of the track; returns the new
        assignments and the track's labs that were already assigned (left as they are)."""
        track = self.cleaned_data.get("track")
        if not track:
            self.instance.cohort = self.cohort
            return [self.save()], []
        taken = set(self.cohort.assignments.values_list("lab_id", flat=True))
        made, kept = [], []
        for step in track.steps.filter(lab__is_active=True).select_related("lab"):
            if step.lab_id in taken:
                kept.append(step.lab)
                continue
            made.append(
                Assignment.objects.create(
                    cohort=self.cohort,
                    lab=step.lab,
                    **{name: self.cleaned_data[name] for name in DATE_AND_LATE_FIELDS},
                )
            )
        return made, kept


DATE_AND_LATE_FIELDS = ("opens_at", "due_at", "late_policy", "penalty_per_day")


def zone_words() -> str:
    """The time zone that dates on forms are read in, as people say it."""
    now = timezone.localtime()
    offset = now.strftime("%z")
    return f"{timezone.get_current_timezone_name()} time (UTC{offset[:3]}:{offset[3:]})"


class CohortSettingsForm(forms.ModelForm):
    class Meta:
        model = Cohort
        fields = ["score_policy", "inactive_days", "stuck_attempts", "behind_labs"]
        labels = {
            "inactive_days": "At risk after this many days without a submission",
            "stuck_attempts": "At risk after this many attempts at a lab without passing",
            "behind_labs": "At risk when this many labs are past due and not passed",
        }
        help_texts = {
            "behind_labs": "A missed deadline of a lab that closes is a risk on its own.",
        }
        widgets = {
            name: forms.NumberInput(attrs={"min": 1})
            for name in ("inactive_days", "stuck_attempts", "behind_labs")
        }
