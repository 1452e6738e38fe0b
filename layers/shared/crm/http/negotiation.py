"""Which format a response takes: suffix, then ``format=``, then ``Accept``, then JSON."""

from __future__ import annotations

from crm.errors import NotAcceptable

JSON, XML = "json", "xml"
VCARD = "vcf"  # a contact as a card: only the operations that offer it (Api.operation's cards)
SUFFIXES = {".json": JSON, ".xml": XML, ".vcf": VCARD}
MEDIA_TYPES = {
    "application/json": JSON,
    "text/json": JSON,
    "application/xml": XML,
    "text/xml": XML,
    "text/vcard": VCARD,
    "text/x-vcard": VCARD,
    "text/directory": VCARD,  # vCard 3.0's registered type
}
CONTENT_TYPES = {
    JSON: "application/json; charset=utf-8",
    XML: "application/xml; charset=utf-8",
    VCARD: "text/vcard; charset=utf-8",
}


def split_suffix(path: str) -> tuple[str, str | None]:
    """``/contacts/16.xml`` -> (``/contacts/16``, ``xml``); no known suffix -> (path, None)."""
    head, slash, last = path.rpartition("/")
    for suffix, fmt in SUFFIXES.items():
        if last.endswith(suffix) and len(last) > len(suffix):
            return f"{head}{slash}{last[: -len(suffix)]}", fmt
    return path, None


def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges.append((media.lower(), quality))
    return ranges


def from_accept(header: str | None) -> str:
    if not header or not header.strip():
        return JSON
    ranges = _accept_ranges(header)
    # A browser lists many types and */* as a fallback; like Rails, treat that as "anything".
    if len(ranges) > 1 and any(media == "*/*" for media, _ in ranges):
        return JSON
    best: tuple[float, str] | None = None
    for media, quality in ranges:
        if quality <= 0:
            continue
        fmt = MEDIA_TYPES.get(media)
        if fmt is None and media in ("*/*", "application/*"):
            fmt = JSON
        elif fmt is None and media == "text/*":
            fmt = XML
        if fmt and (best is None or quality > best[0]):
            best = (quality, fmt)
    if best is None:
        raise NotAcceptable()
    return best[1]


def choose(suffix: str | None, format_param: str | None, accept: str | None) -> str:
    if suffix:
        return suffix
    if format_param:
        fmt = format_param.strip().lower()
        if fmt not in (JSON, XML):
            raise NotAcceptable("format must be json or xml")
        return fmt
    return from_accept(accept)
