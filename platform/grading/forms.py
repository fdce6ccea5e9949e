"""The submit form (edit the lab's files in the browser, or upload them, loose or one
zip) and the staff page's form for importing a Gradescope autograder."""

from django import forms

from catalog.labfiles import SLUG_RE, SUBMIT_NAME_RE
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


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("allow_empty_file", True)  # an empty starter file is a start
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


# The answer's files together, as a learner's upload is bounded.
MAX_ANSWER_BYTES = 1024 * 1024


class AutograderImportForm(forms.Form):
    """The staff page's form: what `labs import-gradescope` takes on its command line."""

    archive = forms.FileField(
        label="Autograder zip", help_text="setup.sh and run_autograder at its root"
    )
    slug = forms.SlugField(
        max_length=63, help_text="The lab's folder name: lower-case letters, digits and '-'"
    )
    title = forms.CharField(max_length=120)
    solution = MultipleFileField(
        label="The answer's files",
        help_text="The instructor's answer: these are the files learners will submit",
    )
    starter = MultipleFileField(
        label="The starter's files",
        required=False,
        help_text="The same names; leave empty to start learners from empty files",
    )
    strip_top_folder = forms.BooleanField(
        required=False,
        label="Strip the top-level folder",
        help_text="The zip holds one folder with the autograder inside it",
    )

    def __init__(self, *args, labs_dir, **kwargs):
        super().__init__(*args, **kwargs)
        self.labs_dir = labs_dir

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if not SLUG_RE.match(slug):
            raise forms.ValidationError("Use 2 to 63 lower-case letters, digits and '-'.")
        if (self.labs_dir / slug).exists():
            raise forms.ValidationError(f"A lab named {slug} exists already; choose another.")
        return slug

    def _files(self, field: str) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for upload in self.cleaned_data.get(field) or []:
            name = upload.name.rsplit("/", 1)[-1]
            if not SUBMIT_NAME_RE.match(name):
                raise forms.ValidationError(f"{name!r} is not a plain file name.")
            if name in files:
                raise forms.ValidationError(f"{name} is there twice.")
            files[name] = upload.read()
        if sum(len(data) for data in files.values()) > MAX_ANSWER_BYTES:
            raise forms.ValidationError("These files take more than 1 MB together.")
        return files

    def clean(self):
        data = super().clean()
        try:
            data["solution_files"] = self._files("solution")
        except forms.ValidationError as exc:
            self.add_error("solution", exc)
            return data
        try:
            data["starter_files"] = self._files("starter")
        except forms.ValidationError as exc:
            self.add_error("starter", exc)
            return data
        starter = data["starter_files"]
        if starter and set(starter) != set(data["solution_files"]):
            self.add_error(
                "starter",
                "The starter must hold the same files as the answer ("
                + ", ".join(sorted(data["solution_files"]))
                + ").",
            )
        return data
