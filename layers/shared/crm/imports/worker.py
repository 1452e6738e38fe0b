"""The import worker: a file in the imports bucket becomes contacts, a chunk of rows at a time,
each row exactly once however often S3 delivers the event and wherever a run stops.

- The file is streamed (crm.imports' readers); a run skips the rows its import has done.
- Each chunk is *planned* first: every row checked as ``POST /contacts`` checks it, its duplicate
  looked up (a vCard's UID, else its email address, case-insensitive, among the contacts the
  importer can see: the chunk's lookup items read by exact keys, crm.index), the ids of the
  contacts it creates allocated. The plan is saved on the
  import, conditioned on the checkpoint; a run that finds a plan at its checkpoint replays it,
  so a retry after a crash writes the same items under the same keys.
- The chunk's new items go in with BatchWriteItem: what hangs off the new contacts (postings,
  history, notes; lookups, added to as sets) and the failed rows first, the contacts last; a
  replay skips contacts already there. Updates of duplicates are the API's own (a transaction
  each; repeating one changes nothing).
- One transaction then moves the checkpoint, the import's counters and the account's contact
  counts, conditioned on the checkpoint: each chunk is counted once.
- When the invocation's time runs low the run stops after a chunk and invokes the function again
  (``hand_over``). A run that starts at the same checkpoint too often gives the import up, so a
  file that crashes the worker cannot loop.
"""

from __future__ import annotations

import csv
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from itertools import islice
from typing import IO, Any

from crm import accounts, config, contact_counts, contacts, custom_fields, index, notes, tags, times
from crm.auth import Principal
from crm.errors import ApiError
from crm.http import dialects
from crm.imports import Row, csv_rows, documents, jobs, vcards
from crm.observability import count, logger
from crm.storage import files
from crm.storage.db import ConditionFailed, allocate, batch_write, transact, update_if
from crm.storage.items import (
    ContactItem,
    ImportErrorItem,
    ImportItem,
    account_of,
    import_error_sk,
    import_errors_prefix,
    starting_with,
    with_ref,
)

CHUNK = 250  # rows planned, written and checkpointed together
RESERVE_SECONDS = 60.0  # a run hands over when less than this is left (a chunk takes a few seconds)
MAX_RUNS = 3  # runs that may start from the same checkpoint before the import is given up
THREADS = 16  # duplicate lookups and batch writes in flight
MESSAGES_KEPT, MESSAGE_MAX = 5, 300  # of a failed row's messages: bounded, as an import shows 100
LOOKUP_BATCH = 100  # BatchGetItem's limit
ERRORS_KEPT_SECONDS = 30 * 24 * 3600  # as long as the bucket keeps the report
HandOver = Callable[[str, int], None]


@cache
def _pool() -> ThreadPoolExecutor:
    # One per container: the threads outlive an invocation, as the connections do.
    return ThreadPoolExecutor(THREADS, thread_name_prefix="import")


CREATE, UPDATE, SKIP, FAIL = "c", "u", "s", "f"
TAKEN = "t"  # planned only: a FAIL for an external_id that another contact has


@dataclass(frozen=True)
class Step:
    """What one row of a chunk becomes: CREATE (the contact's id, and its first note's if it has
    one), UPDATE or SKIP (the duplicate's id), FAIL (its messages are the row's, found again when
    the plan is replayed, so the plan stays small; with an id, the contact that has its
    external_id, 0 if the key may not see it)."""

    action: str
    contact_id: int | None = None
    note_id: int | None = None

    def stored(self) -> list[Any]:
        """As the import keeps it: ``["c", id, note id]``, ``["u", id]``, ``["s", id]``, ``["f"]``
        (``["f", id]``: its external_id is that contact's)."""
        if self.action == CREATE:
            return [CREATE, self.contact_id, self.note_id]
        return [self.action] if self.action == FAIL and self.contact_id is None else [self.action, self.contact_id]

    @classmethod
    def of(cls, stored: list[Any]) -> Step:
        ids = [None if value is None else int(value) for value in stored[1:]]
        return cls(stored[0], *ids)


@dataclass(frozen=True)
class Plan:
    """A chunk's plan: its checkpoint (``at``), its rows, the one time its writes carry, its steps."""

    at: int
    rows: int
    now: str
    steps: tuple[Step, ...]

    def stored(self) -> dict[str, Any]:
        return {"at": self.at, "rows": self.rows, "now": self.now, "do": [step.stored() for step in self.steps]}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Plan:
        steps = tuple(Step.of(step) for step in stored["do"])
        return cls(int(stored["at"]), int(stored["rows"]), stored["now"], steps)


class Failed(Exception):
    """The import cannot go on; the message is for its user."""


class Superseded(Exception):
    """Another run of the same import moved its checkpoint first: that run goes on."""


@dataclass
class Outcome:
    created: int = 0
    private: int = 0
    updated: int = 0
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"line", "messages"}
    tags: tags.Moves = field(default_factory=dict)  # how the created contacts move the tag counts


# --- entry points ------------------------------------------------------------------------------


def received(
    key: str, size: int, version: str | None, time_left: Callable[[], float], hand_over: HandOver, etag: str = ""
) -> str:
    """S3 says a file was created (``key`` URL-decoded; ``version``, its version id in a versioned
    bucket): import it, that version of it. Returns the outcome."""
    found = jobs.parse_key(key)
    if found is None:
        return "ignored"
    account_id, name = found
    job = jobs.load(account_id, int(name)) if name.isascii() and name.isdigit() else None
    if job is None or job.object_key != key:
        job = jobs.dropped(account_id, key, version or etag)
    if job is None:
        logger.warning("file dropped for no account", extra={"account_id": account_id[:64]})
        return "ignored"
    return run(account_id, int(job.id), time_left, hand_over, size, version)


def run(
    account_id: str,
    import_id: int,
    time_left: Callable[[], float],
    hand_over: HandOver,
    size: int = 0,
    version: str | None = None,
) -> str:
    """Import from the checkpoint on; ``completed``, ``failed``, ``continued`` (handed over) or
    ``superseded``. Storage that stays busy raises, so Lambda retries the event."""
    job = jobs.load(account_id, import_id)
    if job is None or job.status in (jobs.COMPLETED, jobs.FAILED):
        return "done"
    try:
        job = _begin(job, size, version)
        return _import(job, time_left, hand_over)
    except Failed as exc:
        _fail(account_id, import_id, str(exc))
        return jobs.FAILED
    except Superseded:
        return "superseded"


def _begin(job: Any, size: int, version: str | None) -> Any:
    limit = config.settings.import_max_bytes
    if int(job.attempts) >= MAX_RUNS:
        raise Failed(f"The import stopped after row {int(job.cursor)} {MAX_RUNS} times and was given up")
    if not job.format:
        raise Failed(f"The file's name does not tell its format: end it with .{', .'.join(jobs.EXTENSIONS)}")
    if size > limit:
        raise Failed(_too_large(limit))
    now = times.now()
    actions = [
        ImportItem.status.set(jobs.RUNNING),
        ImportItem.started_at.set(job.started_at or now),
        ImportItem.updated_at.set(now),
        ImportItem.attempts.add(1),
    ]
    if version and not job.object_version:  # the version its runs read, whatever is put there later
        actions.append(ImportItem.object_version.set(version))
    waiting_or_running = ImportItem.status.is_in(jobs.WAITING, jobs.RUNNING)
    if not update_if(job, actions, waiting_or_running & (ImportItem.cursor == int(job.cursor))):
        raise Superseded()
    return job


def _too_large(limit: int) -> str:
    mb = 1024 * 1024
    return f"The file is larger than {limit // mb} MB" if limit % mb == 0 else f"The file is over {limit} bytes"


def _reader(fmt: str, stream: IO[bytes], columns: list[csv_rows.Columns]) -> Iterator[Row]:
    if fmt == "csv":
        return csv_rows.rows(stream, columns)
    if fmt == "vcard":
        return vcards.rows(stream)
    if fmt == "json":
        return documents.json_rows(stream)
    return documents.xml_rows(stream, config.settings.max_xml_depth)


def _warnings(columns: list[csv_rows.Columns]) -> list[str]:
    unknown = columns[0].unknown if columns else []
    if not unknown:
        return []
    shown = ", ".join(name[:100] for name in unknown[:50]) + (", ..." if len(unknown) > 50 else "")
    return [f"Columns not imported (no field has their name): {shown}"]


def _import(job: Any, time_left: Callable[[], float], hand_over: HandOver) -> str:
    limit = config.settings.import_max_bytes
    opened = files.stream(job.object_key, jobs.bucket(), job.object_version)
    if opened is None:
        raise Failed("The file is no longer in the bucket")
    stream, size = opened
    if size > limit:
        stream.close()
        raise Failed(_too_large(limit))
    if job.size is None:
        job.update(actions=[ImportItem.size.set(size)])
    principal = jobs.principal_of(job)
    defs = custom_fields.definitions(principal.account_id)
    columns: list[csv_rows.Columns] = []
    try:
        rows = _reader(job.format, stream, columns)
        done = int(job.cursor)
        if sum(1 for _ in islice(rows, done)) < done:
            raise Failed(f"The file has fewer than the {done} rows already imported; was it replaced?")
        while chunk := list(islice(rows, CHUNK)):
            job = _chunk(job, chunk, principal, defs, _warnings(columns))
            if time_left() < RESERVE_SECONDS:
                if not update_if(job, [ImportItem.attempts.set(0)], ImportItem.cursor == int(job.cursor)):
                    raise Superseded()
                hand_over(principal.account_id, int(job.id))
                logger.info("import handed over", extra={"import_id": int(job.id), "rows": int(job.cursor)})
                return "continued"
    except documents.NotThisFormat as exc:
        raise Failed(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise Failed(f"The file is not UTF-8 text (after row {int(job.cursor)}: {exc.reason})") from None
    except csv.Error as exc:
        raise Failed(f"The file is not valid CSV after row {int(job.cursor)}: {exc}") from None
    finally:
        stream.close()
    _finish(job)
    return jobs.COMPLETED


# --- a chunk -----------------------------------------------------------------------------------


def _messages(error: ApiError | str) -> list[str]:
    messages = [error] if isinstance(error, str) else error.messages
    return [message[:MESSAGE_MAX] for message in messages[:MESSAGES_KEPT]]


def _draft(principal: Principal, row: Row, defs: dict[int, Any]) -> contacts.Draft | list[str]:
    """The row as a new contact, or the messages the API would answer it with."""
    if row.error is not None:
        return _messages(row.error)
    try:
        body = dialects.contact_body(row.body, creating=True)
        draft = contacts.draft(principal, body, defs, row.uid[:1000] if row.uid else None)
        contacts.check_findable(principal, draft)
    except ApiError as exc:
        return _messages(exc)
    return draft


def _external(draft: contacts.Draft) -> str | None:
    external = (draft.values.get("external_id") or "").strip()
    return index.external_key(external) if external else None


def _own_keys(draft: contacts.Draft) -> list[str]:
    """The lookup terms a row is a duplicate by, strongest first: its external_id, its UID, its
    email address."""
    email = draft.values.get("email_address")
    keys = (
        _external(draft),
        index.uid_key(draft.uid) if draft.uid else None,
        index.email_key(email) if email else None,
    )
    return [k for k in keys if k]


def _duplicate(draft: contacts.Draft, stored: dict[str, index.Named]) -> int | None:
    """The contact a row is a duplicate of: the first with its UID, else with its email address."""
    for term in _own_keys(draft):
        visible = stored[term].visible if term in stored else frozenset()
        if visible:
            return min(visible)
    return None


def _plan(job: Any, chunk: list[Row], drafts: dict[int, Any], principal: Principal) -> Plan:
    """What each row of the chunk becomes (see ``Step``); ids for the contacts it creates are
    allocated at once. The lookup items of every row's email addresses and UID are read at once,
    by exact keys: its duplicates, and how many contacts share each value (index.MAX_SHARED)."""
    good = {i: d for i, d in drafts.items() if isinstance(d, contacts.Draft)}
    region = accounts.default_region(principal.account_id)
    values = {i: index.lookups(d.values, d.uid, region) for i, d in good.items()}
    wanted = list(dict.fromkeys(term for terms in values.values() for term in terms))
    batches = [wanted[start : start + LOOKUP_BATCH] for start in range(0, len(wanted), LOOKUP_BATCH)]
    stored: dict[str, index.Named] = {}
    for found in _pool().map(lambda batch: index.named(principal, batch), batches):
        stored.update(found)
    finding = job.on_duplicate != "create"
    seen: dict[str, int] = {}  # a UID or email of this chunk -> its row, for duplicates within it
    shared = {term: named.total for term, named in stored.items()}  # contacts each value names
    actions: list[str] = []
    duplicates: dict[int, tuple[int | None, int | None]] = {}  # row -> (stored match, earlier row)
    new_rows: list[int] = []
    for i in range(len(chunk)):
        draft = drafts[i]
        if not isinstance(draft, contacts.Draft):
            actions.append(FAIL)
            continue
        keys, external = _own_keys(draft), _external(draft)
        holder = stored.get(external) if external else None
        if external and not finding and external in seen:  # unique: a create import fails the row
            actions.append(TAKEN)
            duplicates[i] = (None, seen[external])
            continue
        if external and holder and not (finding and holder.visible):  # or another user's private one
            actions.append(TAKEN)
            duplicates[i] = (min(holder.visible) if holder.visible else 0, None)
            continue
        earlier = next((seen[k] for k in keys if k in seen), None) if finding else None
        match = _duplicate(draft, stored) if finding else None
        if match is None and earlier is None:
            if any(shared.get(term, 0) >= index.MAX_SHARED for term in values[i]):
                actions.append(FAIL)  # replayed, the same check of the same plan's rows finds it
                continue
            actions.append(CREATE)
            new_rows.append(i)
            seen.update(dict.fromkeys(keys, i))
            shared.update({term: shared.get(term, 0) + 1 for term in values[i]})
        else:
            actions.append(UPDATE if job.on_duplicate == "update" else SKIP)
            duplicates[i] = (match, earlier)
    first_contact = allocate(principal.account_id, "contact", len(new_rows)) if new_rows else 0
    with_notes = [i for i in new_rows if drafts[i].first_note is not None]  # type: ignore[union-attr]
    first_note = allocate(principal.account_id, "note", len(with_notes)) if with_notes else 0
    ids = {row: first_contact + n for n, row in enumerate(new_rows)}
    note_ids = {row: first_note + n for n, row in enumerate(with_notes)}
    steps = []
    for i, action in enumerate(actions):
        if action == CREATE:
            steps.append(Step(CREATE, ids[i], note_ids.get(i)))
        elif action in (UPDATE, SKIP, TAKEN):
            match, earlier = duplicates[i]
            holder = match if match is not None else ids[earlier]  # earlier: a row of this chunk
            steps.append(Step(FAIL, holder) if action == TAKEN else Step(action, holder))
        else:
            steps.append(Step(FAIL))
    return Plan(int(job.cursor), len(chunk), times.now(), tuple(steps))


def _save_plan(job: Any, plan: Plan) -> Any:
    """Save the plan at the checkpoint; if another run saved one first, the job with its plan."""
    condition = (ImportItem.cursor == plan.at) & ImportItem.plan.does_not_exist()
    if update_if(job, [ImportItem.plan.set(plan.stored())], condition):
        return job
    latest = jobs.load(account_of(job.pk), int(job.id))
    if latest is None or int(latest.cursor) != plan.at or not latest.plan:
        raise Superseded()
    return latest


def _chunk(job: Any, chunk: list[Row], principal: Principal, defs: dict[int, Any], warnings: list[str]) -> Any:
    # A replayed plan's rows are checked again: the same rows get the same answers.
    drafts = {i: _draft(principal, row, defs) for i, row in enumerate(chunk)}
    saved = job.plan if job.plan and job.plan.get("at") == int(job.cursor) else None
    replay = saved is not None
    if saved is None:
        fresh = _plan(job, chunk, drafts, principal)
        job = _save_plan(job, fresh)
        saved, replay = job.plan, job.plan != fresh.stored()
    plan = Plan.of(saved)
    outcome = _write(job, chunk, plan, drafts, principal, replay)
    return _checkpoint(job, chunk, plan, outcome, principal, warnings)


def _put_all(items: list[Any]) -> None:
    requests = [{"PutRequest": {"Item": item.serialize()}} for item in items]
    slices = [requests[start : start + 25] for start in range(0, len(requests), 25)]
    list(_pool().map(batch_write, slices))


TAKEN_MEANWHILE = "Another contact was given this external_id while the import ran"


def _add_lookup(item: Any, actions: list[Any], condition: Any) -> bool:
    """Add the new contact to a lookup item; False if it is a unique one another contact has."""
    if condition is None:
        item.update(actions=actions)
        return True
    return update_if(item, actions, condition)


def _take_back(principal: Principal, new: contacts.NewContact) -> None:
    """Delete what went before a contact that is not to be: its postings, its history entry, its
    first note, and its name on the lookup items it was added to. A replay does it again."""
    item = new.item

    def stage(tx: Any) -> None:
        index.stage(tx, principal.account_id, int(item.id), item.search_terms, {}, index.owner(item), None)
        for written in (new.entry, *(each for note in new.notes for each in with_ref(note))):
            tx.delete(written)

    transact(stage)


def _failure(step: Step) -> list[str]:
    return [index.SHARED_TOO_OFTEN] if step.contact_id is None else [index.taken_by(step.contact_id)]


def _error_item(job: Any, line: int, messages: list[str]) -> Any:
    sk, expires_at = import_error_sk(int(job.id), line), int(time.time()) + ERRORS_KEPT_SECONDS
    return ImportErrorItem(job.pk, sk, line=line, messages=messages, expires_at=expires_at)


def _write(
    job: Any, chunk: list[Row], plan: Plan, drafts: dict[int, Any], principal: Principal, replay: bool
) -> Outcome:
    outcome = Outcome()
    made, failed_items, line_of = [], [], {}
    for i, step in enumerate(plan.steps):
        action = step.action
        if action == CREATE and not isinstance(drafts[i], contacts.Draft):
            # Replayed after the account's custom fields changed, the row no longer passes: it fails.
            action = FAIL
        if action == CREATE:
            new = contacts.new_items(principal, drafts[i], step.contact_id, step.note_id, plan.now)
            made.append(new)
            line_of[int(step.contact_id)] = chunk[i].line  # type: ignore[arg-type]
            outcome.created += 1
            outcome.private += 1 if new.item.is_private else 0
            tags.moves(None, None, new.item.tags, index.owner(new.item), outcome.tags)
        elif action == SKIP:
            outcome.skipped += 1
        elif action == FAIL:
            # A row that passed its checks failed for naming a value too many contacts share, or
            # another contact's external_id.
            messages = drafts[i] if not isinstance(drafts[i], contacts.Draft) else _failure(step)
            outcome.failed.append({"line": chunk[i].line, "messages": messages})
            failed_items.append(_error_item(job, chunk[i].line, messages))
    if replay and made:  # contacts a crashed run wrote are complete (they went last): leave them
        keys = [(new.item.pk, new.item.sk) for new in made]
        there = {int(c.id) for c in ContactItem.batch_get(keys, consistent_read=True, attributes_to_get=["id"])}
        made = [new for new in made if int(new.item.id) not in there]
    first_notes = [item for new in made for note in new.notes for item in with_ref(note)]
    hanging = [*(item for new in made for item in (*index.postings(new.item), new.entry)), *first_notes]
    _put_all(hanging + failed_items)
    lookups = [(new, *change) for new in made for change in index.add_lookups(new.item)]
    added = _pool().map(lambda change: _add_lookup(*change[1:]), lookups)
    lost = {id(new): new for (new, *_), done in zip(lookups, added, strict=True) if not done}
    lost_items = []
    list(_pool().map(lambda new: _take_back(principal, new), lost.values()))
    for new in lost.values():  # its external_id taken meanwhile, by a write outside the import
        outcome.created -= 1
        outcome.private -= 1 if new.item.is_private else 0
        tags.moves(new.item.tags, index.owner(new.item), None, None, outcome.tags)
        line = line_of[int(new.item.id)]
        outcome.failed.append({"line": line, "messages": [TAKEN_MEANWHILE]})
        lost_items.append(_error_item(job, line, [TAKEN_MEANWHILE]))
    _put_all([new.item for new in made if id(new) not in lost] + lost_items)
    # Updates run side by side, but those of one contact (rows that repeat it) one after another.
    updates: dict[int, list[int]] = {}
    for i, step in enumerate(plan.steps):
        if step.action == UPDATE:
            updates.setdefault(int(step.contact_id), []).append(i)  # type: ignore[arg-type]

    def update_rows(rows: list[int]) -> list[tuple[int, list[str] | None]]:
        return [(i, _update(principal, plan.steps[i].contact_id, chunk[i], drafts[i])) for i in rows]  # type: ignore[arg-type]

    late_failures = []
    for i, messages in sorted(pair for done in _pool().map(update_rows, updates.values()) for pair in done):
        if messages is None:
            outcome.updated += 1
        else:
            outcome.failed.append({"line": chunk[i].line, "messages": messages})
            late_failures.append(_error_item(job, chunk[i].line, messages))
    _put_all(late_failures)
    outcome.failed.sort(key=lambda failure: failure["line"])
    return outcome


def _update(principal: Principal, contact_id: int, row: Row, draft: Any) -> list[str] | None:
    """Update a duplicate with the fields the row has (and its note, unless the contact has that
    note already); the messages of a refusal, or None."""
    if not isinstance(draft, contacts.Draft):
        return draft
    try:
        fields = dialects.contact_body({k: v for k, v in row.body.items() if k != "notes"}, creating=False)
        updated = contacts.update(principal, contact_id, fields)
        if draft.first_note is not None and all(n.body != draft.first_note for n in updated.notes):
            notes.create(principal, contact_id, {"body": draft.first_note})
    except ApiError as exc:
        return _messages(exc)
    return None


TAG_UPDATES = 90  # of a transaction's 100 items, beside the checkpoint's own


def _count_tags(job: Any, condition: Any, updates: list[tags.Update]) -> list[tags.Update]:
    """Apply all but the last ``TAG_UPDATES`` of a chunk's tag count updates, each group in a
    transaction that numbers it on the import (``tags_counted``), so that a replay of the chunk
    applies none twice; the last group is for the checkpoint's own transaction."""
    groups = [updates[i : i + TAG_UPDATES] for i in range(0, len(updates), TAG_UPDATES)] or [[]]
    done = int(job.tags_counted or 0)
    for number, group in enumerate(groups[:-1]):
        if number < done:
            continue
        counted = ImportItem.tags_counted == number if number else ImportItem.tags_counted.does_not_exist()

        def stage(tx: Any, group: list[tags.Update] = group, number: int = number, counted: Any = counted) -> None:
            tx.update(job, actions=[ImportItem.tags_counted.set(number + 1)], condition=condition & counted)
            tags.apply(tx, group)

        try:
            transact(stage)
        except ConditionFailed:
            raise Superseded() from None
    return groups[-1]


def _checkpoint(
    job: Any, chunk: list[Row], plan: Plan, outcome: Outcome, principal: Principal, warnings: list[str]
) -> Any:
    start, cursor = int(job.cursor), int(job.cursor) + len(chunk)
    shown = list(job.errors or [])
    shown += outcome.failed[: max(0, jobs.ERRORS_SHOWN - len(shown))]
    actions = [
        ImportItem.cursor.set(cursor),
        ImportItem.rows_total.set(cursor),
        ImportItem.rows_imported.add(outcome.created),
        ImportItem.rows_updated.add(outcome.updated),
        ImportItem.rows_skipped.add(outcome.skipped),
        ImportItem.rows_failed.add(len(outcome.failed)),
        ImportItem.errors.set(shown),
        ImportItem.plan.remove(),
        ImportItem.attempts.set(1),
        ImportItem.updated_at.set(times.now()),
    ]
    if warnings and not job.warnings:
        actions.append(ImportItem.warnings.set(warnings))
    condition = (ImportItem.cursor == start) & (ImportItem.status == jobs.RUNNING)
    last_tags = _count_tags(job, condition, tags.updates(principal.account_id, outcome.tags))
    actions.append(ImportItem.tags_counted.remove())

    def stage(tx: Any) -> None:
        tx.update(job, actions=actions, condition=condition)
        if outcome.created:
            contact_counts.stage_counts(tx, principal, principal.user_id, outcome.created, outcome.private)
        tags.apply(tx, last_tags)

    try:
        transact(stage)
    except ConditionFailed:
        raise Superseded() from None
    count("ContactImported", outcome.created)
    latest = jobs.load(account_of(job.pk), int(job.id))
    if latest is None:
        raise Superseded()
    return latest


# --- the end -----------------------------------------------------------------------------------


def _report(job: Any) -> str | None:
    """Write every failed row to the import's CSV report (streamed through a spooled file)."""
    if not int(job.rows_failed):
        return None
    pk, prefix = job.pk, import_errors_prefix(int(job.id))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(["line", "errors"])
        for failure in ImportErrorItem.query(pk, starting_with(ImportErrorItem.sk, prefix)):
            writer.writerow([int(failure.line), "; ".join(failure.messages)])
        text.flush()
        spool.seek(0)
        key = jobs.report_key(account_of(pk), int(job.id))
        files.put(key, spool, "text/csv; charset=utf-8", jobs.bucket())
        text.detach()
    return key


def _finish(job: Any) -> None:
    report, now = _report(job), times.now()
    actions = [
        ImportItem.status.set(jobs.COMPLETED),
        ImportItem.finished_at.set(now),
        ImportItem.updated_at.set(now),
        ImportItem.rows_total.set(int(job.cursor)),
    ]
    if report:
        actions.append(ImportItem.report_key.set(report))
    if not update_if(job, actions, ImportItem.status == jobs.RUNNING):
        return  # another run finished it
    count("ImportCompleted")
    logger.info("import completed", extra={"import_id": int(job.id), "rows": int(job.cursor)})


def _fail(account_id: str, import_id: int, message: str) -> None:
    job = jobs.load(account_id, import_id)
    if job is None or job.status in (jobs.COMPLETED, jobs.FAILED):
        return
    report, now = _report(job), times.now()
    actions = [
        ImportItem.status.set(jobs.FAILED),
        ImportItem.error.set(message),
        ImportItem.finished_at.set(now),
        ImportItem.updated_at.set(now),
        ImportItem.plan.remove(),
    ]
    if report:
        actions.append(ImportItem.report_key.set(report))
    if not update_if(job, actions, ImportItem.status.is_in(jobs.WAITING, jobs.RUNNING)):
        return  # another run ended it
    count("ImportFailed")
    logger.info("import failed", extra={"import_id": import_id, "error": message[:200]})
