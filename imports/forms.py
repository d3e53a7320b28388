"""The forms of the import wizard's steps, for every kind of import: the file, the options,
the columns."""

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from .spreadsheets import MAX_DATA_ROWS, MAX_FILE_BYTES


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Filled in per request, so it is in the user's language.
        self.fields["file"].help_text = _(
            "Excel (.xlsx, .xls) or CSV (UTF-8 or Shift_JIS), at most %(rows)s rows and %(mb)s MB."
        ) % {"rows": MAX_DATA_ROWS, "mb": MAX_FILE_BYTES // 2**20}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // 2**20}
            )
        return upload


@dataclass(frozen=True)
class OptionsWording:
    """What the options step calls the records of one kind of import."""

    match_key: str  # e.g. "Find existing users by"
    match_key_help: str
    keep_empty_help: str


class OptionsForm(forms.Form):
    """Add, update or both; how existing records are found; what an empty cell means. Only
    the modes the member may use are shown; another one posted is refused by the service."""

    mode = forms.ChoiceField(label=_("What should the import do?"), widget=forms.RadioSelect)
    match_key = forms.ChoiceField(widget=forms.RadioSelect)
    keep_empty = forms.BooleanField(
        label=_("If a cell is empty, keep the existing value"), required=False
    )

    def __init__(self, *args, modes, allowed_modes, match_keys, wording: OptionsWording, **kw):
        """`modes` and `match_keys`: the kind's choices; `allowed_modes`: the member's."""
        super().__init__(*args, **kw)
        self.fields["mode"].choices = modes
        self.fields["mode"].widget.choices = [
            (value, label) for value, label in modes if value in allowed_modes
        ]
        self.fields["match_key"].choices = match_keys
        self.fields["match_key"].label = wording.match_key
        self.fields["match_key"].help_text = wording.match_key_help
        self.fields["keep_empty"].help_text = wording.keep_empty_help


class MappingForm(forms.Form):
    """One choice per column of the file: which field it fills, or none."""

    def __init__(self, *args, headers, fields, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— do not import —")), *fields]
        for index, header in enumerate(headers):
            self.fields[str(index)] = forms.ChoiceField(
                label=header or _("Column %(n)s") % {"n": index + 1},
                choices=choices,
                required=False,
            )
