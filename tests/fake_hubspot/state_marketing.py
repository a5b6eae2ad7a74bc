"""Owners, forms, form submissions and visitor identification."""

from __future__ import annotations

import copy
import secrets

from .common import (
    _EMAIL,
    ApiError,
    _form_error,
    _int,
    _obj,
    _page,
    invalid,
    iso,
    now_ms,
    q1,
)


class MarketingMixin:
    # --- owners, forms ---------------------------------------------------------------------------

    def owners_list(self, query):
        with self.lock:
            email = (q1(query, "email") or "").lower()
            limit = _int(q1(query, "limit"), 100, "limit", 1, 500)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            rows = [o for o in self.owners if not email or o["email"].lower() == email]
            return 200, _page(rows, offset, limit)

    def owner_get(self, owner_id, query):
        with self.lock:
            field = "userId" if q1(query, "idProperty") == "userId" else "id"
            for owner in self.owners:
                if str(owner[field]) == str(owner_id):
                    return 200, copy.deepcopy(owner)
            raise ApiError(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")

    def forms_list(self, query):
        with self.lock:
            limit = _int(q1(query, "limit"), 20, "limit", 1, 100)
            offset = _int(q1(query, "after"), 0, "after", 0, 10**9)
            return 200, _page([f for f in self.forms if not f["archived"]], offset, limit)

    def form_get(self, form_id):
        with self.lock:
            form = self._form(form_id)
            if form is None:
                raise ApiError(404, f"Form {form_id} not found", "OBJECT_NOT_FOUND")
            return 200, copy.deepcopy(form)

    def _form(self, form_id):
        return next((f for f in self.forms if f["id"] == form_id and not f["archived"]), None)

    def submit_form(self, portal_id, expected_portal, form_id, body):
        """The Forms submission API; like HubSpot, it also creates or updates the contact."""
        with self.lock:
            form = self._form(form_id)
            if str(portal_id) != str(expected_portal) or form is None:
                raise ApiError(
                    404, f"Form {form_id} not found for portal {portal_id}", "OBJECT_NOT_FOUND"
                )
            body = _obj(body)
            fields = body.get("fields")
            if not isinstance(fields, list):
                raise invalid("fields must be a list of {name, value}")
            definitions = {f["name"]: f for g in form["fieldGroups"] for f in g["fields"]}
            values, errors = {}, []
            for item in fields:
                item_name = (item or {}).get("name")
                value = (item or {}).get("value")
                if item_name not in definitions:
                    errors.append(
                        _form_error(
                            item_name,
                            f"Field '{item_name}' not found in the form",
                            "FIELD_NOT_IN_FORM_DEFINITION",
                        )
                    )
                elif not isinstance(value, str):
                    errors.append(_form_error(item_name, "Value must be a string", "INVALID_VALUE"))
                else:
                    values[item_name] = value
            email = values.get("email", "")
            if not _EMAIL.match(email.strip()):
                errors.append(_form_error("email", "Invalid email address", "INVALID_EMAIL"))
            for field_name, definition in definitions.items():
                if definition["required"] and field_name != "email" and not values.get(field_name):
                    message = f"Required field '{field_name}' is missing"
                    errors.append(_form_error(field_name, message, "REQUIRED_FIELD"))
            if errors:
                raise ApiError(400, "The request is not valid", None, errors=errors)
            self.form_submissions.append(
                {
                    "portalId": int(portal_id),
                    "formGuid": form_id,
                    "body": copy.deepcopy(body),
                    "submittedAt": iso(now_ms()),
                }
            )
            self._contact_from_form(values)
            return 200, {"inlineMessage": "Thanks for submitting the form."}

    def _contact_from_form(self, values):
        definitions = self.properties["contacts"]
        props = {k: v for k, v in values.items() if definitions.get(k, {}).get("type") == "string"}
        props["email"] = values["email"].strip().lower()
        rec = self._find("contacts", props["email"], "email")
        if rec is None:
            self._insert("contacts", props, self._creation_time())
        else:
            self._touch(rec, props)

    def visitor_token(self, body):
        with self.lock:
            body = _obj(body)
            email = body.get("email")
            if not isinstance(email, str) or not _EMAIL.match(email):
                raise invalid("email is required and must be a valid email address")
            token = secrets.token_urlsafe(48)
            self.identification_tokens.append(
                {
                    "email": email,
                    "token": token,
                    "firstName": body.get("firstName"),
                    "lastName": body.get("lastName"),
                }
            )
            return 200, {"token": token}


# --- helpers outside the class ----------------------------------------------------------------
