"""The Redmine CRM plugin's resources for python-redmine, which ships them only in its paid
edition. They are declared through its documented custom-resource API, with the URLs and
containers its 1.5.1 release used for them, so the client speaks to this API as it would to
Redmine with the plugin. Importing this module registers them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from redminelib.resources import BaseResource


class Contact(BaseResource):
    redmine_version = (1, 2, 1)
    requirements = ("CRM plugin",)
    container_all = container_filter = "contacts"
    container_one = container_create = container_update = "contact"
    query_all = "/contacts.json"
    query_one = "/contacts/{}.json"
    query_filter = "/contacts.json"
    query_create = "/projects/{project_id}/contacts.json"
    query_update = "/contacts/{}.json"
    query_delete = "/contacts/{}.json"

    _repr: ClassVar[list[list[str]]] = [["id", "first_name"]]
    _includes: ClassVar[list[str]] = ["notes", "contacts", "deals", "issues"]
    _unconvertible: ClassVar[list[str]] = [*BaseResource._unconvertible, "company", "skype_name"]

    @classmethod
    def bulk_decode(cls, attrs: dict[str, Any], manager: Any) -> dict[str, Any]:
        # The plugin takes lists of phones and emails as comma-separated ``phone`` and ``email``.
        attrs = dict(attrs)
        for many, one in (("phones", "phone"), ("emails", "email")):
            if many in attrs:
                attrs[one] = ",".join(attrs.pop(many))
        if isinstance(attrs.get("tag_list"), list | tuple):
            attrs["tag_list"] = ",".join(attrs["tag_list"])
        return super().bulk_decode(attrs, manager)

    def __getattr__(self, attr: str) -> Any:
        if attr in ("phones", "emails"):
            key = "number" if attr == "phones" else "address"
            kept = self._decoded_attrs.get(attr) or []
            return [entry.get(key) if isinstance(entry, dict) else entry for entry in kept]
        return super().__getattr__(attr)

    def add_project(self, project_id: int | str) -> Any:
        url = f"{self.manager.redmine.url}/contacts/{self.internal_id}/projects.json"
        return self.manager.redmine.engine.request("post", url, data={"project": {"id": project_id}})

    def remove_project(self, project_id: int | str) -> Any:
        url = f"{self.manager.redmine.url}/contacts/{self.internal_id}/projects/{project_id}.json"
        return self.manager.redmine.engine.request("delete", url)


class Note(BaseResource):
    redmine_version = (2, 1, 0)
    requirements = (("CRM plugin", "3.2.4"),)
    container_all = container_filter = "notes"
    container_one = container_create = container_update = "note"
    query_all = "/notes.json"
    query_one = "/notes/{}.json"
    query_filter = "/notes.json"
    query_create = "/notes.json"
    query_update = "/notes/{}.json"
    query_delete = "/notes/{}.json"


class ContactTag(BaseResource):
    redmine_version = (2, 3, 0)
    requirements = (("CRM plugin", "3.4.0"),)
    container_all = "tags"
    query_all = "/contacts_tags.json"
    _repr: ClassVar[list[list[str]]] = [["name"]]
