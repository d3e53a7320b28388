"""Long forms in sections, with an error summary at the top (issue 11, X-1).

A form class mixes in SectionedForm and lists its sections:

    class ContactForm(SectionedForm, forms.Form):
        sections = [(_("Name and contact data"), ["first_name", "last_name", "email"]), ...]

Fields no section names go into a last section ("More fields"). The page renders them with
templates/includes/form_sections.html; form_error_summary.html lists every field in error
with a link to it. In a Japanese UI the family name field comes before the given name field."""

from dataclasses import dataclass

from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from crm_portal.names import GIVEN_NAME, family_name_field_first  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class SectionField:
    field: BoundField
    required: bool  # the label shows the required marker


@dataclass(frozen=True)
class FormSection:
    legend: str
    fields: list[SectionField]
    slug: str


@dataclass(frozen=True)
class FieldError:
    target_id: str  # the id the summary links to
    label: str
    message: str


class SectionedForm:
    """Mixin for a Django form: `sections` groups its fields; see the module docstring."""

    sections: list[tuple[str, list[str]]] = []
    last_section_legend = _("More fields")

    def section_names(self) -> list[tuple[str, list[str]]]:
        """(legend, field names) in page order, before the family-name-first rule. Override
        to place fields another way (the record forms follow the admin's field layout)."""
        listed = {name for _legend, names in self.sections for name in names}
        placed = [
            (legend, [name for name in names if name in self.fields])
            for legend, names in self.sections
        ]
        rest = [name for name in self.fields if name not in listed]
        if rest:
            placed.append((self.last_section_legend, rest))
        return placed

    def form_sections(self) -> list[FormSection]:
        return [
            FormSection(
                legend=legend,
                fields=[
                    SectionField(field=self[name], required=self.shows_required(name))
                    for name in family_name_field_first(names)
                    if not self[name].is_hidden  # form_sections.html renders those apart
                ],
                slug=f"section-{index}",
            )
            for index, (legend, names) in enumerate(self.section_names())
            if names
        ]

    def shows_required(self, name: str) -> bool:
        """Whether the label carries the required marker. Forms whose service checks
        required values (the record forms) override this."""
        return self.fields[name].required

    def error_summary(self) -> list[FieldError]:
        """Every field in error, in page order, with its first message."""
        return [
            FieldError(
                target_id=item.field.id_for_label or item.field.auto_id,
                label=str(item.field.label),
                message=str(item.field.errors[0]),
            )
            for section in self.form_sections()
            for item in section.fields
            if item.field.errors
        ]
