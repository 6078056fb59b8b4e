"""The admin's workflow form: steps as YAML or JSON text, checked by ``workflows.definitions``."""

from __future__ import annotations

from typing import Any

from django import forms

from workflows.definitions import DefinitionError, normalize, readable, workflow_key
from workflows.files import dump_yaml, load_text
from workflows.models import Workflow

STEPS_HELP = (
    "An ordered list of steps {id, type, config, if} in YAML or JSON (README, Workflows). "
    'Durations as seconds or "10m", "1h"; saving publishes a new version.'
)


class WorkflowForm(forms.ModelForm):
    steps = forms.CharField(
        label="Steps (YAML or JSON)",
        widget=forms.Textarea(
            attrs={"rows": 24, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"}
        ),
        help_text=STEPS_HELP,
    )

    class Meta:
        model = Workflow
        fields = ["key", "name"]
        help_texts = {"key": "The event type this workflow handles, e.g. comment.created."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A deleted workflow shows its last version, so publishing it again is one save.
        shown = (self.instance.current or self.instance.versions.first()) if self.instance.pk else None
        if shown is not None and not self.is_bound:
            self.initial["steps"] = dump_yaml(readable(shown.steps))

    def clean_key(self) -> str:
        try:
            return workflow_key(self.cleaned_data["key"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "steps" not in cleaned:
            return cleaned
        try:
            steps = load_text(cleaned["steps"])
        except ValueError as error:
            self.add_error("steps", str(error))
            return cleaned
        try:
            normalize({"name": cleaned.get("name", ""), "steps": steps})
        except DefinitionError as error:
            name_problems = error.errors.pop("name", None)
            if name_problems:
                self.add_error("name", name_problems)
            self.add_error(
                "steps", DefinitionError(error.errors, steps if isinstance(steps, list) else None).lines()
            )
            return cleaned
        cleaned["definition"] = {"name": cleaned.get("name", ""), "steps": steps}
        return cleaned
