"""Contacts over HTTP: parse, authorise, call crm.contacts, render."""

from __future__ import annotations

from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from crm import activities, batch, contact_reads, contacts, duplicates, lookup, merges, search, tags, upserts
from crm.calls import CALL
from crm.errors import BadRequest, Unprocessable
from crm.http import batches, dialects, merging, openapi, vcard, views
from crm.http.api import Api, Request, path_text, resource_id
from crm.http.dialects import minimal, redmine
from crm.messages import MESSAGE
from crm.paging import page_of
from crm.photos import PHOTO
from crm.validation import Sent

app = Api("contacts")
lambda_handler = app.lambda_handler

CONTACT = openapi.CONTACT
ONE = openapi.wrapped("contact", CONTACT)
# Show accepts Redmine's include list; this system keeps no deals or tickets, so those are empty.
INCLUDES = ("notes", "calls", "messages", "photos", "projects", "contacts", "deals", "tickets")
INCLUDED = 25  # of the calls, messages and photos a contact shows
KINDS = {"calls": CALL, "messages": MESSAGE, "photos": PHOTO}
SEARCH = (
    openapi.query(
        "search",
        f"Words (at most {search.MAX_WORDS}), each the start of a word of a name, company, job title, email"
        " or phone digits",
        {"type": "string", "maxLength": search.MAX_SEARCH},
    ),
    openapi.query(
        "searchby",
        "Find the search words in this field only (name, email and phone mean each of theirs)",
        {"type": "string", "enum": list(search.SEARCHBY)},
        empty_is_absent=False,
    ),
    openapi.query("tags", "Comma-separated: contacts with all of these tags"),
    openapi.query("project_id", "Contacts in this project (an id or an identifier)"),
    openapi.query("assigned_to_id", "Contacts assigned to this user", {"type": "integer", "minimum": 0}),
    openapi.query("is_company", "Companies (true) or people (false)", {"type": "boolean"}),
    openapi.query("updated_since", "Contacts changed at or after this time", {"type": "string", "format": "date-time"}),
)
# A project is named by its identifier, or by its id as text or as a number (as a list of ids
# takes it: a whole number as its digits).
_PROJECT_ID = {"anyOf": [{**openapi.PATH_SCHEMAS["project_id"], "minLength": 1}, openapi.NUMBER_AS_TEXT]}
PROJECT = {
    "anyOf": [
        {"type": "object", "properties": {name: _PROJECT_ID}, "required": [name]} for name in ("id", "project_id")
    ]
}
HISTORY_ENTRY = {"type": "object", "properties": {"id": {"type": "integer"}, "changes": {"type": "array"}}}


def _view(request: Request, contact: contact_reads.Contact) -> dict:
    view = views.contact(request.principal, contact.item, contact.notes)
    return dialects.contact_view(view)


def _views(request: Request, items: list) -> list[dict]:
    return [dialects.contact_view(view) for view in views.contacts(request.principal, items)]


def _body(request: Request, creating: bool = False) -> Sent:
    """The contact the request sends, in any dialect, in the one model."""
    return dialects.contact_body(request.body("contact"), creating)


def _show(request: Request, contact: contact_reads.Contact, status: int = 200) -> Response:
    """A written contact, in its root alone. The answer to a flat JSON body (the minimal JSON
    API's) also carries the id at the top level, as a string, where its clients read it; beside a
    root, ActiveResource would not unwrap it."""
    contact_id = int(contact.item.id)
    location = f"/contacts/{contact_id}" if status == 201 else None
    beside = minimal.flat(request.wrapped("contact"), contact_id)
    return request.one(
        "contact", _view(request, contact), status=status, version=contact.version, location=location, beside=beside
    )


@app.operation(
    "GET",
    "/contacts",
    summary="List contacts in id order, or those a search or filter finds (as /contacts/search)",
    query=(*SEARCH, *openapi.PAGING),
    returns=openapi.listing("contacts", CONTACT),
)
def list_contacts(request: Request) -> Response:
    _search_in_body(request)
    query = search.parse(request.query, request.principal.account_id)
    if query is None:
        page = contact_reads.list_contacts(request.principal, request.page())
    else:
        page = search.run(request.principal, query, request.page())
    return request.many("contacts", "contact", page, _views(request, page.items))


def _search_in_body(request: Request) -> None:
    """The minimal JSON API sends its ``searchby`` and ``search`` as a JSON body on the GET."""
    if not request.event.get("body"):
        return
    request.query = minimal.search_query(request.body("contact"), request.query, search.FILTERS)


@app.operation(
    "POST",
    "/contacts",
    summary="Create a contact (or edit one, as the minimal JSON API does: 200)",
    status=201,
    body=openapi.CONTACT_CREATE,
    returns=ONE,
    also=(200,),
)
def create_contact(request: Request) -> Response:
    edit = minimal.edit(request.body("contact"))
    if edit:  # the minimal JSON API edits through POST /contacts
        return _edit(request, *edit)
    return _show(request, contacts.create(request.principal, _body(request, creating=True)), status=201)


@app.operation(
    "POST",
    "/projects/<project_id>/contacts",
    summary="Create a contact in this project (Redmine CRM's create)",
    status=201,
    body=openapi.CONTACT_NEW,
    returns=ONE,
)
def create_contact_in_project(request: Request, project_id: str) -> Response:
    body = dialects.contact_body(redmine.in_project(request.body("contact"), project_id), creating=True)
    return _show(request, contacts.create(request.principal, body), status=201)


def _edit(request: Request, contact_id: str, fields: dict) -> Response:
    body = dialects.contact_body(fields, creating=False)
    contact = contacts.update(request.principal, resource_id(contact_id, "Contact"), body, request.if_match())
    return _show(request, contact)


@app.operation(
    "PATCH",
    "/contacts",
    summary="Change some fields of the contact named by contact_id (the minimal JSON API's edit)",
    body=openapi.MINIMAL_EDIT,
    returns=ONE,
)
def edit_contact(request: Request) -> Response:
    return _edit(request, *minimal.edit_of(request.body("contact")))


@app.operation(
    "DELETE",
    "/contacts",
    summary="Delete the contact named by contact_id in the body (the minimal JSON API's delete)",
    status=204,
    body=openapi.MINIMAL_DELETE,
)
def delete_named_contact(request: Request) -> Response:
    contact_id = minimal.deleted_contact_id(request.body("contact"))
    contacts.delete(request.principal, resource_id(contact_id, "Contact"), request.if_match())
    return request.empty()


@app.operation(
    "GET",
    "/contacts/search",
    summary="Search contacts: the same as GET /contacts?search=",
    query=(
        openapi.query("term", "Words to find (the same as search)", {"type": "string", "maxLength": search.MAX_SEARCH}),
        *SEARCH,
        *openapi.PAGING,
    ),
    returns=openapi.listing("contacts", CONTACT),
)
def search_contacts(request: Request) -> Response:
    _search_in_body(request)
    query = search.parse(request.query, request.principal.account_id)
    if query is None:  # a search for nothing in particular finds every contact, as Redmine's does
        page = contact_reads.list_contacts(request.principal, request.page())
    else:
        page = search.run(request.principal, query, request.page())
    return request.many("contacts", "contact", page, _views(request, page.items))


@app.operation(
    "GET",
    "/contacts/lookup",
    summary="Contacts with this email address (whatever its case), phone number (however written) or external_id",
    query=(
        openapi.query("email", "An email address", {"type": "string", "maxLength": lookup.VALUE_MAX}),
        openapi.query(
            "phone",
            "A phone number in any format: +1 (202) 456-1414, 202-456-1414 and 12024561414 are one number"
            " (one without a country code is read in the account's region)",
            {"type": "string", "maxLength": lookup.VALUE_MAX},
        ),
        openapi.query("external_id", "An external_id", {"type": "string", "maxLength": lookup.VALUE_MAX}),
        *openapi.PAGING,
    ),
    returns=openapi.listing("contacts", CONTACT),
)
def lookup_contacts(request: Request) -> Response:
    page = lookup.lookup(request.principal, request.query, request.page())
    return request.many("contacts", "contact", page, _views(request, page.items))


@app.operation(
    "GET",
    "/contacts/<contact_id>",
    summary="Show a contact with its newest 25 notes, or as a vCard (.vcf, or Accept: text/vcard)",
    query=(
        openapi.query("include", f"Comma-separated: {', '.join(INCLUDES)}", openapi.names(INCLUDES)),
        openapi.query("version", "The vCard's version, as a vCard (4.0 unless asked)", {"enum": list(vcard.VERSIONS)}),
    ),
    returns=ONE,
    cards=True,
)
def show_contact(request: Request, contact_id: str) -> Response:
    wanted = [name.strip() for name in (request.query.get("include") or "").split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(INCLUDES))
    if unknown:
        raise BadRequest(f"Unknown include: {', '.join(unknown)}; choose from {', '.join(INCLUDES)}")
    version = request.query.get("version") or vcard.VERSIONS[0]
    if version not in vcard.VERSIONS:
        raise BadRequest(f"version must be one of {', '.join(vcard.VERSIONS)}")
    if request.card:  # the contact alone: a card shows no notes
        item = contact_reads.load_visible(request.principal, resource_id(contact_id, "Contact"))
        uid = vcard.uid_of(request.principal.account_id, int(item.id), item.source_uid)
        return request.vcard(vcard.card(views.contact(request.principal, item, []), uid, version), int(item.version))
    contact = contact_reads.get(request.principal, resource_id(contact_id, "Contact"))
    view = _view(request, contact)
    for name in (name for name in KINDS if name in wanted):
        kind = KINDS[name]
        kept = activities.of_contact(request.principal, kind, int(contact.item.id), INCLUDED)
        view[name] = [views.record(kind, record, own=False) for record in kept]
    if "projects" in wanted:
        view["projects"] = redmine.projects(list(contact.item.project_ids or ()))
    if "contacts" in wanted:
        view["contacts"] = _views(request, search.company_members(request.principal, contact.item))
    # This system keeps no deals or tickets: a client asking for them gets empty lists.
    view.update({name: [] for name in ("deals", "tickets") if name in wanted})
    return request.one("contact", view, version=contact.version)


@app.operation(
    ("PUT", "PATCH"),
    "/contacts/<contact_id>",
    summary="Change some fields of a contact (PUT and PATCH alike); If-Match makes it conditional",
    body=openapi.CONTACT_EDIT,
    returns=ONE,
)
def update_contact(request: Request, contact_id: str) -> Response:
    contact = contacts.update(request.principal, resource_id(contact_id, "Contact"), _body(request), request.if_match())
    return _show(request, contact)


# Any item is taken: one the API cannot run is answered in its result (422), not refused.
OPERATION = {
    "description": "{op: create, contact}, {op: update, id, contact}, {op: upsert, match: email or external_id,"
    ' contact} or {op: delete, id}; in XML, <operations type="array"> of <operation> elements'
}
RESULT = {
    "type": "object",
    "properties": {
        "status": {"type": "integer", "description": "What the operation alone would have answered"},
        "contact": CONTACT,
        "errors": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["status"],
}


@app.operation(
    "POST",
    "/contacts/batch",
    summary=f"Create, update, upsert and delete up to {batch.MAX_OPERATIONS} contacts, in order, each as alone",
    body={"type": "array", "minItems": 1, "maxItems": batch.MAX_OPERATIONS, "items": OPERATION},
    root="operations",
    returns={"type": "object", "properties": {"results": {"type": "array", "items": RESULT}}},
)
def batch_contacts(request: Request) -> Response:
    results = batch.run(request.principal, batches.read(request.fields()))
    shown = [
        {"status": r.status, **({"contact": _view(request, r.contact)} if r.contact else {}), **_errors(r.errors)}
        for r in results
    ]
    return request.listed("results", "result", shown)


def _errors(messages: list[str]) -> dict:
    return {"errors": messages} if messages else {}


@app.operation(
    "GET",
    "/contacts/<contact_id>/duplicates",
    summary="Contacts that share this one's email address, phone number or name at its company, strongest first",
    returns={
        "type": "object",
        "properties": {
            "duplicates": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "contact": CONTACT,
                        "reasons": {"type": "array", "items": {"enum": list(duplicates.STRENGTH)}},
                    },
                },
            }
        },
    },
)
def contact_duplicates(request: Request, contact_id: str) -> Response:
    found = duplicates.of(request.principal, resource_id(contact_id, "Contact"))
    views = _views(request, [d.contact for d in found])
    shown = [{"contact": view, "reasons": list(d.reasons)} for view, d in zip(views, found, strict=True)]
    return request.listed("duplicates", "duplicate", shown)


MERGE = {
    "type": "object",
    "properties": {
        "from": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "minItems": 1,
            "maxItems": merges.MAX_FROM,
            "uniqueItems": True,
            "description": "The contacts to merge into this one: they are gone after it",
        },
        "dry_run": {"type": "boolean", "description": "Answer the contact as it would be, and change nothing"},
    },
    "required": ["from"],
    "additionalProperties": False,
}


@app.operation(
    "POST",
    "/contacts/<contact_id>/merge",
    summary=f"Merge up to {merges.MAX_FROM} contacts into this one: it keeps its values, takes theirs where it has"
    " none, and their notes, calls, messages and photos; their ids then answer 404 with merged_into",
    body=MERGE,
    root="merge",
    returns=ONE,
)
def merge_contacts(request: Request, contact_id: str) -> Response:
    ids, dry_run = merging.read(request.body("merge"))
    survivor = resource_id(contact_id, "Contact")
    contact = merges.merge(request.principal, survivor, ids, dry_run, request.if_match())
    return request.one("contact", _view(request, contact), version=None if dry_run else contact.version)


def _upsert_route(by: str, path: str) -> None:
    """PUT ``path``: the contact with this value (crm.upserts), updated, or a new one with it."""

    def upsert(request: Request, **value: str) -> Response:
        (text,) = value.values()
        contact, created = upserts.upsert(request.principal, by, path_text(text), _body(request), request.if_match())
        return _show(request, contact, status=201 if created else 200)

    upsert.__name__ = f"upsert_by_{by}"
    what = upserts.BY[by].what
    app.operation(
        "PUT",
        path,
        summary=f"Update the contact with this {what}, or create one with it (201); If-Match for the update",
        body=openapi.CONTACT_EDIT,
        returns=ONE,
        also=(201,),
    )(upsert)


_upsert_route("email", "/contacts/by-email/<email>")
_upsert_route("external_id", "/contacts/by-external-id/<external_id>")


@app.operation(
    "POST",
    "/contacts/<contact_id>",
    summary="Change some fields of a contact: update_fields (the minimal JSON API's edit), or the fields",
    body=openapi.MINIMAL_EDIT_OF,
    returns=ONE,
)
def post_edit_contact(request: Request, contact_id: str) -> Response:
    return _edit(request, *minimal.edit_of(request.body("contact"), contact_id))


@app.operation("DELETE", "/contacts/<contact_id>", summary="Delete a contact with its notes", status=204)
def delete_contact(request: Request, contact_id: str) -> Response:
    contacts.delete(request.principal, resource_id(contact_id, "Contact"), request.if_match())
    return request.empty()


@app.operation(
    "GET",
    "/contacts/<contact_id>/history",
    summary="Changes to a contact, newest first",
    query=openapi.PAGING,
    returns=openapi.listing("history", HISTORY_ENTRY),
)
def contact_history(request: Request, contact_id: str) -> Response:
    page = contact_reads.history_of(request.principal, resource_id(contact_id, "Contact"), request.page())
    return request.many("history", "entry", page, [views.history_entry(entry) for entry in page.items])


@app.operation(
    "POST",
    "/contacts/<contact_id>/projects",
    summary="Add a contact to a project (an id or an identifier such as support); 200 if it was in it",
    status=201,
    body=PROJECT,
    root="project",
    also=(200,),  # already in it: nothing changed
    returns=ONE,
)
def add_project(request: Request, contact_id: str) -> Response:
    body = request.body("project")
    project = body.get("id", body.get("project_id"))
    unknown = sorted(set(body) - {"id", "project_id"})
    if unknown:
        raise Unprocessable(f"Unknown fields: {', '.join(unknown)}")
    if project is None or project == "":
        raise Unprocessable("Project id is required")
    contact, added = contacts.add_project(request.principal, resource_id(contact_id, "Contact"), project)
    view = _view(request, contact)
    if not added:  # already in it: nothing changed
        return request.one("contact", view, version=contact.version)
    location = f"/contacts/{int(contact.item.id)}/projects/{quote(str(contact.item.project_ids[-1]), safe='')}"
    return request.one("contact", view, status=201, version=contact.version, location=location)


@app.operation(
    "DELETE",
    "/contacts/<contact_id>/projects/<project_id>",
    summary="Take a contact out of a project",
    status=204,
)
def remove_project(request: Request, contact_id: str, project_id: str) -> Response:
    contacts.remove_project(request.principal, resource_id(contact_id, "Contact"), project_id)
    return request.empty()


TAG = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "As it was last written"},
        "count": {"type": "integer", "minimum": 1, "description": "Contacts this key may see that carry it"},
    },
}


@app.operation(
    "GET",
    "/contacts_tags",
    summary="The tags of the contacts this key may see, by name, each with how many carry it (Redmine CRM)",
    query=openapi.PAGING,
    returns=openapi.listing("tags", TAG),
)
def list_tags(request: Request) -> Response:
    page = page_of(tags.listing(request.principal), request.page())
    return request.many("tags", "tag", page, page.items)
