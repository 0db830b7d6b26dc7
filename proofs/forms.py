from django import forms

from .models import ProofJob


class ProofFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "All statuses"), *ProofJob.Status.choices], required=False)
