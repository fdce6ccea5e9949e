"""The upload form: one file field per file the lab takes."""

from django import forms

from catalog.models import Lab


class SubmissionForm(forms.Form):
    def __init__(self, *args, lab: Lab, **kwargs):
        super().__init__(*args, **kwargs)
        for name in lab.submit_files:
            self.fields[name] = forms.FileField(label=name, required=True)

    def files_by_name(self) -> dict[str, bytes]:
        return {name: upload.read() for name, upload in self.cleaned_data.items()}
