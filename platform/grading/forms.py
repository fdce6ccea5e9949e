"""The submit form: edit the lab's files in the browser, or upload them (loose or one zip)."""

from django import forms

from catalog.models import Lab
from grading.uploads import SubmissionRejected, UploadRules, check_files, files_from_zip

EDITOR = "editor"
UPLOAD = "upload"


def editor_field(name: str) -> str:
    return f"editor:{name}"


class SubmissionForm(forms.Form):
    source = forms.ChoiceField(
        choices=[(EDITOR, EDITOR), (UPLOAD, UPLOAD)], initial=EDITOR, required=False
    )
    archive = forms.FileField(required=False, label="or one zip")

    def __init__(self, *args, lab: Lab, texts: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lab = lab
        texts = texts or {}
        for name in lab.submit_files:
            self.fields[editor_field(name)] = forms.CharField(
                label=name,
                required=False,
                strip=False,
                initial=texts.get(name, ""),
                widget=forms.Textarea(
                    attrs={
                        "rows": 20,
                        "spellcheck": "false",
                        "class": "code",
                        "wrap": "off",
                        "data-filename": name,
                    }
                ),
            )
            self.fields[name] = forms.FileField(label=name, required=False)

    def editor_fields(self):
        return [self[editor_field(name)] for name in self.lab.submit_files]

    def upload_fields(self):
        return [self[name] for name in self.lab.submit_files]

    def files_by_name(self, rules: UploadRules) -> dict[str, bytes]:
        """The submitted files by name; raises SubmissionRejected with the reason."""
        data = self.cleaned_data
        source = data.get("source") or (UPLOAD if self.files else EDITOR)
        if source == EDITOR:
            # Browsers send textarea lines with CRLF; the learner typed LF.
            return check_files(
                {
                    name: data[editor_field(name)].replace("\r\n", "\n").encode()
                    for name in self.lab.submit_files
                },
                rules,
            )
        if data.get("archive"):
            return files_from_zip(data["archive"].read(), rules)
        uploaded = {name: data[name].read() for name in self.lab.submit_files if data.get(name)}
        if not uploaded:
            raise SubmissionRejected(
                "Choose the files to upload (" + ", ".join(self.lab.submit_files) + ") or a zip."
            )
        return check_files(uploaded, rules)
