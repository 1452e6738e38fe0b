"""The web form over HTTP: a page's form posts a contact with a form key; no authorizer runs here."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from crm import forms
from crm.errors import UnsupportedMediaType
from crm.http import body, dialects, openapi
from crm.http.api import Api, Request

FORM_MAX_BYTES = 64 * 1024  # a form of text fields; far less than a contact's largest body

app = Api("forms", max_body=FORM_MAX_BYTES, multipart=True)
lambda_handler = app.lambda_handler

FORM_BODY = {
    "type": "object",
    "required": ["key", "contact"],
    "properties": {
        "key": {"type": "string", "description": "A form key (contacts-admin keys create --form --project ID)"},
        "project_id": {"type": "string", "description": "The form key's project (optional)"},
        "redirect_on_success": {"type": "string", "format": "uri", "description": "A URL the account lists"},
        "contact": openapi.CONTACT,
        forms.HONEYPOT: {
            "type": "string",
            "maxLength": 0,
            "description": "Leave empty: hidden from people, bots fill it",
        },
        **{
            name: {"type": "string", "description": "What Rails' form helpers add; ignored"}
            for name in ("commit", "utf8")
        },
    },
}
RECEIVED = {"status": "received", "message": "Thank you: your details were received."}


@app.operation(
    "POST",
    "/forms/contacts",
    summary="A web form's contact, form-encoded or multipart, with a form key in the key field",
    status=201,
    body=FORM_BODY,
    returns=openapi.wrapped("submission", {"type": "object"}),
    public=True,
)
def submit_form(request: Request) -> Response:
    if body.media_type(request.headers.get("content-type")) not in (body.FORM, body.MULTIPART):
        raise UnsupportedMediaType(f"Send the form as {body.FORM} or {body.MULTIPART}")
    fields = request.fields()
    origin = request.headers.get("origin")
    settings = forms.settings_named_by(fields.get("key"))
    request.answer_headers.update(forms.cors_headers(settings, origin))
    principal = forms.form_principal(fields.get("key"))
    forms.check_origin(settings, origin)
    redirect = forms.submit(principal, settings, fields, lambda contact: dialects.contact_body(contact, creating=True))
    if redirect:
        return request.see_other(redirect)
    return request.one("submission", RECEIVED, status=201)
