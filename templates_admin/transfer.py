"""Templates as files, for version control: ``<dir>/<event type>/<locale>/<channel>/``.

Each template folder holds ``subject.txt``, ``text.txt``, ``html.html``, ``sample.json`` and,
for in-app messages, ``actions.json`` (buttons) and ``tags.json`` (any may be missing: that
field is empty). Export writes the active templates; import creates or updates them (a
changed template keeps its previous words as a version) and refuses the whole directory if
any template is invalid, naming the file and the line.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from core.channel_names import channel_names
from core.imports import ImportRefused, ImportReport
from templates_admin.locales import normalize_locale
from templates_admin.models import NotificationTemplate
from templates_admin.services import save_template

FILES = {"subject": "subject.txt", "text_body": "text.txt", "html_body": "html.html"}
SAMPLE_FILE = "sample.json"
# JSON fields, each in a file of its own.
JSON_FILES = {"sample_data": SAMPLE_FILE, "actions": "actions.json", "tags": "tags.json"}
# Of those, the ones written only when not empty (a missing file reads as empty).
OPTIONAL_JSON = ("actions", "tags")
SAVED_BY = "import_templates"


def export_templates(directory: Path) -> int:
    """Write every active template under ``directory``; returns how many."""
    count = 0
    for template in NotificationTemplate.objects.filter(active=True):
        folder = directory / template.event_type / template.locale / template.channel
        folder.mkdir(parents=True, exist_ok=True)
        for name, filename in FILES.items():
            path = folder / filename
            text = getattr(template, name)
            if text:
                path.write_text(text, encoding="utf-8")
            else:
                path.unlink(missing_ok=True)
        (folder / SAMPLE_FILE).write_text(json.dumps(template.sample_data, indent=2) + "\n", encoding="utf-8")
        for name in OPTIONAL_JSON:
            path, value = folder / JSON_FILES[name], getattr(template, name)
            if value:
                path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
            else:
                path.unlink(missing_ok=True)
        count += 1
    return count


def _template_folders(directory: Path) -> list[tuple[str, str, str, Path]]:
    return sorted(
        (folder.parent.parent.name, folder.parent.name, folder.name, folder)
        for folder in directory.glob("*/*/*")
        if folder.is_dir() and folder.name in channel_names()
    )


def _read(folder: Path) -> dict[str, object]:
    fields: dict[str, object] = {
        name: (folder / filename).read_text(encoding="utf-8") if (folder / filename).exists() else ""
        for name, filename in FILES.items()
    }
    for name, filename in JSON_FILES.items():
        path = folder / filename
        empty = NotificationTemplate._meta.get_field(name).get_default()  # type: ignore[union-attr]
        fields[name] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else empty
    return fields


def import_templates(directory: Path) -> ImportReport[str]:
    """Create or update one active template per folder, all or nothing."""
    if not directory.is_dir():
        raise ImportRefused([f"{directory}: not a directory"])
    report: ImportReport[str] = ImportReport()
    problems: list[str] = []
    with transaction.atomic():
        for event_type, locale, channel, folder in _template_folders(directory):
            label = str(folder.relative_to(directory))
            try:
                fields = _read(folder)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                problems.append(f"{label}: {error}")
                continue
            template = NotificationTemplate.objects.filter(
                event_type=event_type, channel=channel, locale=normalize_locale(locale), active=True
            ).first() or NotificationTemplate(event_type=event_type, channel=channel, locale=locale)
            before = {name: getattr(template, name) for name in fields} if template.pk else None
            for name, value in fields.items():
                setattr(template, name, value)
            try:
                template.full_clean()
            except ValidationError as error:
                problems.extend(
                    f"{label}/{FILES.get(name) or JSON_FILES.get(name, name)}: {message}"
                    for name, messages in error.message_dict.items()
                    for message in messages
                )
                continue
            if before == fields:
                report.unchanged.append(label)
                continue
            save_template(template, saved_by=SAVED_BY)
            (report.updated if before is not None else report.created).append(label)
        if problems:
            transaction.set_rollback(True)
            raise ImportRefused(problems)
    return report
