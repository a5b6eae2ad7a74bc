"""A service's ValidationError shown on the form that sent the data (admin and customer pages)."""

from __future__ import annotations


def add_service_errors(form, err) -> None:
    """`err`'s messages onto `form`, on the field each names when the form has it, else on top."""
    for field, problems in getattr(err, "message_dict", {"__all__": err.messages}).items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
