from django import forms
from django.utils.translation import gettext_lazy as _

from imports.spreadsheets import MAX_DATA_ROWS, MAX_FILE_BYTES

from .importing import FIELDS
from .models import UserImport


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


class OptionsForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("What should the import do?"),
        choices=UserImport.Mode.choices,
        widget=forms.RadioSelect,
    )
    match_key = forms.ChoiceField(
        label=_("Find existing users by"),
        choices=UserImport.MatchKey.choices,
        widget=forms.RadioSelect,
        help_text=_("Used when updating existing users."),
    )
    keep_empty = forms.BooleanField(
        label=_("If a cell is empty, keep the existing value"),
        required=False,
        help_text=_("Otherwise an empty cell clears that field of an existing user."),
    )


class MappingForm(forms.Form):
    """One choice per column of the file: which field it fills, or none."""

    def __init__(self, *args, headers, fields=FIELDS, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— do not import —")), *fields]
        for index, header in enumerate(headers):
            self.fields[str(index)] = forms.ChoiceField(
                label=header or _("Column %(n)s") % {"n": index + 1},
                choices=choices,
                required=False,
            )
