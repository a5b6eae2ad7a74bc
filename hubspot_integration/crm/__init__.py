"""The shared base of the HubSpot object types (contacts, tickets, companies, ...).

An object type is one package of the app (`hubspot_integration/<name>/`) that declares itself in
its `__init__.py` (`OBJECT_TYPE`, an `ObjectType`) and is listed once in `registry.PACKAGES`.
What every type needs comes from here, like allauth's providers from their base classes:

- `types.py`    the declaration: HubSpot's name and type ID, editable properties, scopes, kinds
- `service.py`  list and search (cursor paging), read, create/update/archive through the outbox,
                the outbox handlers, links to the record in HubSpot
- `forms.py`    the admin form built from the declared properties, and back to properties
- `admin.py`    the admin pages: list with search and paging, add, change (with related
                records), archive, behind the type's permission
- `api.py`      the REST endpoints `<prefix>/<name>` and `<prefix>/<name>/<id>`
- `models.py`   the table-less model an admin page hangs off
"""
