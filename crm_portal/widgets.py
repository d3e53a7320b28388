"""Bounded pickers (issue 21): a choice from a set that grows with the org (an owner, an
account, a territory, a country) is an autocomplete, never a <select> of the whole set.

The widget renders a text input with role="combobox" (ARIA 1.2), an empty listbox that htmx
fills from an autocomplete endpoint (server-side search, at most a page of results), and the
value in a hidden <select> that holds only the chosen option(s) — so a form re-rendered with
errors shows and posts what was chosen, and the page never carries more options than were
chosen. static/js/lists.js does the keyboard (arrows, Enter, Escape) and waits for the end of
an IME composition (Japanese input) before searching."""

from collections.abc import Iterable

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _


class Combobox(forms.Widget):
    """One choice. `url` answers `?q=` with <li role="option" data-value=…> fragments."""

    allow_multiple_selected = False

    def __init__(self, *, url: str = "", attrs=None, placeholder=None):
        super().__init__(attrs)
        self.url = url
        self.placeholder = placeholder
        self.choices: Iterable = []

    def __deepcopy__(self, memo):
        copy = super().__deepcopy__(memo)
        copy.choices = self.choices
        return copy

    def format_value(self, value) -> list[str]:
        if value is None or value == "":
            return []
        single = isinstance(value, str | int) or hasattr(value, "pk")
        values = [value] if single else list(value)
        return [str(getattr(v, "pk", v)) for v in values if v not in (None, "")]

    def value_from_datadict(self, data, files, name):
        if self.allow_multiple_selected and hasattr(data, "getlist"):
            return data.getlist(name)
        return data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return False if self.allow_multiple_selected else name not in data

    def selected(self, values: list[str]) -> list[tuple[str, str]]:
        """(value, label) of the chosen values only: a model field's queryset is asked for
        those rows and no others; a list of choices is looked up in memory."""
        if not values:
            return []
        queryset = getattr(self.choices, "queryset", None)
        if queryset is not None:
            digits = [v for v in values if v.isascii() and v.isdigit() and len(v) <= 18]
            label = self.choices.field.label_from_instance
            return [(str(obj.pk), label(obj)) for obj in queryset.filter(pk__in=digits)]
        labels = {str(value): str(label) for value, label in self.choices}
        return [(v, labels[v]) for v in values if v in labels]

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        input_id = attrs.pop("id", None) or f"id_{name}"
        attrs.pop("required", None)
        chosen = self.selected(self.format_value(value))
        listbox = f"{input_id}_listbox"
        field = {
            "type": "text",
            "id": input_id,
            "role": "combobox",
            "aria-controls": listbox,
            "aria-expanded": "false",
            "aria-autocomplete": "list",
            "autocomplete": "off",
            "data-combobox": "multiple" if self.allow_multiple_selected else "single",
            "hx-get": self.url,
            "hx-trigger": "combobox-search",
            "hx-target": f"#{listbox}",
            "hx-swap": "innerHTML",
            "hx-sync": "this:replace",
            "placeholder": self.placeholder or _("Type to search"),
            **attrs,
        }
        if not self.allow_multiple_selected and chosen:
            field["value"] = chosen[0][1]
        return format_html(
            '<div class="combobox" data-remove-label="{remove}">{chips}<input{field}>'
            '<ul role="listbox" id="{listbox}" class="combobox-listbox" hidden></ul>'
            '<select name="{name}" id="{input_id}_value" class="combobox-value"{multiple} '
            'hidden aria-hidden="true" tabindex="-1">{empty}{options}</select></div>',
            remove=_("Remove %(name)s"),
            chips=self._chips(chosen),
            field=flatatt(field),
            listbox=listbox,
            name=name,
            input_id=input_id,
            multiple=" multiple" if self.allow_multiple_selected else "",
            empty="" if self.allow_multiple_selected else mark_safe('<option value=""></option>'),
            options=format_html_join(
                "", '<option value="{}" selected>{}</option>', ((v, label) for v, label in chosen)
            ),
        )

    def _chips(self, chosen):
        if not self.allow_multiple_selected:
            return ""
        return format_html(
            '<ul class="combobox-chips">{}</ul>',
            format_html_join(
                "",
                '<li data-value="{}">{} <button type="button" class="link combobox-remove" '
                'aria-label="{}">×</button></li>',
                ((v, label, _("Remove %(name)s") % {"name": label}) for v, label in chosen),
            ),
        )


class ComboboxMultiple(Combobox):
    """Several choices, shown as removable chips above the input."""

    allow_multiple_selected = True
