"""The documented dialects at the edge: each module reads its names into the one model
(``crm.fields``) and adds what its clients read to the model's representation.

- ``minimal``: the minimal JSON API's ``name`` and ``notes``, its edit and delete bodies, its
  search in a GET's body, the ``id`` beside a flat body's answer.
- ``redmine``: Redmine CRM's aliases (``email``, ``phone``, ``tag_list``, ``project_id``,
  ``visibility``, ``address_attributes``, ``website``), its ``phones`` and ``emails`` arrays, its
  create in a project, its ``projects`` and its notes.

ContactHero's names are the model's own. Every body goes through every dialect: one model
serves all three, and a client may mix them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.http.dialects import minimal, redmine
from crm.validation import Sent

# Every name a dialect reads (an import's columns may carry them too).
NAMES = minimal.NAMES | redmine.NAMES


def contact_body(body: Mapping[str, Any], creating: bool) -> Sent:
    """What a client sent, in any dialect, in the one model; ``creating``: a new contact's body."""
    given = Sent(dict(body))
    minimal.read(given, creating)
    redmine.read(given)
    return given


def contact_view(view: dict[str, Any]) -> dict[str, Any]:
    """The model's representation of a contact with what the dialects' clients read in it."""
    return redmine.show(view)
