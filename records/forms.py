from django import forms
from django_scopes.forms import SafeModelChoiceField

from .models import Contact


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "language", "country", "owner"]
        field_classes = {"owner": SafeModelChoiceField}

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this org's people can own its records.
        self.fields["owner"].queryset = org.crm_users.filter(status="active").order_by(
            "last_name", "first_name"
        )

    def clean_country(self):
        return self.cleaned_data["country"].strip().upper()
