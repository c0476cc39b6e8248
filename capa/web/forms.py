"""Glue between service errors and WTForms: a refused save redisplays the form with each error in place."""

import re
from collections.abc import Callable, Collection
from typing import Any

from flask import Response, flash, redirect, render_template
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from capa.common.commands import C, parse
from capa.common.errors import DomainError

BLANK = SelectChoice("", "—")


def options(labels: dict[str, Any], *, blank: bool = False) -> list[SelectChoice]:
    """Select options from ``{value: label}``, optionally led by an empty choice."""
    return [BLANK] * blank + [SelectChoice(str(value), label) for value, label in labels.items()]


def record_options(records) -> list[SelectChoice]:
    """Select options for coded records (lines, styles, suppliers), led by an empty choice."""
    return [BLANK, *(SelectChoice(record.code, f"{record.code} · {record.name}") for record in records)]


def show_errors(form: FlaskForm, error: DomainError) -> None:
    """Attach ``error`` to the form: each named field under that field, anything else above the form."""
    for name, message in error.fields.items():
        field, field_list = _field_at(form, name)
        if field is None:
            form.form_errors.append(f"{name}: {message}")
            continue
        field.errors = [*field.errors, message]
        if field_list is not None:
            # A FieldList copies its rows' errors when validated; it must see this later one too.
            field_list.errors = [entry.errors for entry in field_list.entries]
    if not error.fields:
        form.form_errors.append(error.message)


def command_from(form: FlaskForm, command: type[C], *, exclude: Collection[str] = (), **values: Any) -> C:
    """The typed ``command`` built from the form's fields of the same names (but those in ``exclude``), and
    ``values`` besides (which win); raises ValidationError naming the form's own fields, so each message lands
    beside its field."""
    names = [name for name in command.model_fields if name in form._fields and name not in exclude]
    data = {name: form._fields[name].data for name in names}
    return parse(command, data | values)


def _field_at(form: FlaskForm, path: str):
    """The field a service error names, ``name`` or ``lots[1].kind`` in a FieldList of sub-forms, with
    that FieldList (None for a plain field). An item of a plain list (``parameters[0]``) is its field's."""
    nested = _LIST_ITEM.fullmatch(path)
    if nested is None:
        return form._fields.get(path.split("[", 1)[0]), None
    field_list = form._fields.get(nested["list"])
    entries = getattr(field_list, "entries", [])
    index = int(nested["index"])
    if index >= len(entries):
        return None, None
    return entries[index].form._fields.get(nested["field"]), field_list


_LIST_ITEM = re.compile(r"(?P<list>\w+)\[(?P<index>\d+)\]\.(?P<field>\w+)")


def handle_form(
    form: FlaskForm,
    save: Callable[[], Any],
    *,
    success: Callable[[Any], Response | str],
    template: str,
    message: Callable[[Any], str] | None = None,
    before_render: Callable[[], None] | None = None,
    **context: Any,
):
    """Run the usual life of a form page: on a valid POST call ``save``; on success flash ``message`` and
    redirect to ``success(record)`` (or answer it, when it is a response already: a script's answer);
    otherwise render ``template`` with the errors in place (status 400 so that scripts and tests can tell a
    refusal from a first display; the refusal's own 5xx when the server could not save it, a full disk, so that
    a script sends the same form again later instead of asking for corrections)."""
    server_trouble = None
    if form.validate_on_submit():
        try:
            record = save()
        except DomainError as exc:
            show_errors(form, exc)
            server_trouble = exc.status if exc.status >= 500 else None
        else:
            if message:
                flash(message(record), "success")
            target = success(record)
            return target if isinstance(target, Response) else redirect(target)
    if before_render is not None:
        before_render()
    status = 400 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template(template, form=form, **context), server_trouble or status
