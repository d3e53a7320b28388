"""The contact import wizard under /o/<org_slug>/contacts/import/: the shared import wizard's
pages for contacts — upload → options → columns → preview → run in a worker with a live
progress bar → result, failed rows to fix, history. Members who may create or edit contacts
use it (USR-1); a member who is not an administrator sees only their own imports, as their rows
may hold contacts others may not see (USR-2)."""

from django import forms
from django.utils.translation import gettext_lazy

from users.decorators import member_passes
from users.views.import_wizard import ImportWizard

from . import contact_import as services
from .models import ContactImport


class OptionsForm(forms.Form):
    mode = forms.ChoiceField(
        label=gettext_lazy("What should the import do?"),
        choices=ContactImport.Mode.choices,
        widget=forms.RadioSelect,
    )
    match_key = forms.ChoiceField(
        label=gettext_lazy("Find existing contacts by"),
        choices=ContactImport.MatchKey.choices,
        widget=forms.RadioSelect,
        help_text=gettext_lazy("Used when updating: only contacts you can see are matched."),
    )
    keep_empty = forms.BooleanField(
        label=gettext_lazy("If a cell is empty, keep the existing value"),
        required=False,
        help_text=gettext_lazy("Otherwise an empty cell clears that field of an existing contact."),
    )

    def __init__(self, *args, modes, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the modes the member may use are shown; another one posted is refused (403).
        self.fields["mode"].widget.choices = [
            (value, label) for value, label in ContactImport.Mode.choices if value in modes
        ]


# Members who may neither create nor edit contacts get 403.
importer_required = member_passes(lambda membership: services.can_import_contacts(membership))


def _imports(request):
    imports = request.org.contact_imports.all()
    return imports if request.membership.is_admin else imports.filter(created_by=request.membership)


def _options_form(request, data, initial) -> OptionsForm:
    modes = services.allowed_modes(request.membership)
    return OptionsForm(data, initial=initial, modes=modes)


CONTACT_IMPORT = ImportWizard(
    kind=services.CONTACT_IMPORT,
    name="contact_import",
    route="contacts/import/",
    pk_kwarg="contact_import_pk",
    guard=importer_required,
    imports=_imports,
    title=gettext_lazy("Import contacts"),
    list_url="contact_list",
    upload_note=gettext_lazy(
        "Give the account by its name and the owner by their email address; accounts are not "
        "created by the import. New contacts without an owner become yours."
    ),
    mapping_note=gettext_lazy(
        "Account: the name of an existing account. Owner: the email address of a CRM user."
    ),
    result_template="records/contact_import/result.html",
    options_form=_options_form,
    sample_name=gettext_lazy("contacts-sample"),
)

urlpatterns = CONTACT_IMPORT.urlpatterns()
