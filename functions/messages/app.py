"""Messages over HTTP: crm.http.records' routes for crm.messages' kind."""

from __future__ import annotations

from crm import messages
from crm.fields import MESSAGE_BODY_MAX
from crm.http import openapi, records
from crm.http.api import Api

# A message's body may be 256 KB, and its request more once escaped as JSON or XML.
app = Api("messages", max_body=4 * MESSAGE_BODY_MAX)
lambda_handler = app.lambda_handler

FILTERS = (
    openapi.query("contact_id", "The messages with this contact", openapi.ID_SCHEMA),
    openapi.query("channel", "Only this channel", {"type": "string", "enum": list(messages.CHANNELS)}),
    openapi.query("direction", "Only this direction", {"type": "string", "enum": list(messages.DIRECTIONS)}),
)
SCHEMA = records.routes(app, messages.MESSAGE, messages.list_filter, FILTERS, "sent_at")
