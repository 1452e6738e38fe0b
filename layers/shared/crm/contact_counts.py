"""The counts a contact's writes move in their transactions: the account's contacts (and each
user's private ones), from which a list's total for a key is read; and the account's counts of
calls, messages and photos, which lose a contact's own when it goes or becomes private."""

from __future__ import annotations

from typing import Any

from crm.auth import Principal
from crm.storage.items import (
    STATES,
    ActivityCountItem,
    CountItem,
    account_pk,
    contact_counts_prefix,
    count_sk,
    starting_with,
)


def counts_sk(user_id: int | None = None) -> str:
    return count_sk("contacts", user_id)


def stage_counts(tx: Any, principal: Principal, owner: int, contacts_delta: int, private_delta: int) -> None:
    """Stage the change of the account's contact counts (and the owner's private count)."""
    pk = account_pk(principal.account_id)
    actions = [CountItem.contacts.add(contacts_delta)] if contacts_delta else []
    if private_delta:
        actions.append(CountItem.private.add(private_delta))
        tx.update(CountItem(pk, counts_sk(owner)), actions=[CountItem.private.add(private_delta)])
    if actions:
        tx.update(CountItem(pk, counts_sk()), actions=actions)


def visible_total(principal: Principal) -> int:
    pk = account_pk(principal.account_id)
    keys = [(pk, counts_sk())]
    if not principal.is_admin:
        keys.append((pk, counts_sk(principal.user_id)))
    counts = {item.sk: item for item in CountItem.batch_get(keys)}
    everyone = counts.get(counts_sk())
    if everyone is None:
        return 0
    total = int(everyone.contacts)
    if principal.is_admin:
        return total
    mine = counts.get(counts_sk(principal.user_id))
    return total - int(everyone.private) + (int(mine.private) if mine else 0)


def activity_counts(principal: Principal, contact_id: int) -> list[Any]:
    """The contact's counts of its calls (messages, ...), each naming the account's count it is part of."""
    prefix = contact_counts_prefix(contact_id)
    pk = account_pk(principal.account_id)
    return list(ActivityCountItem.query(pk, starting_with(ActivityCountItem.sk, prefix), consistent_read=True))


def stage_activity_counts(tx: Any, pk: str, counts: list[Any], owner: int | None, sign: int, everyone: bool) -> None:
    """Move the account's counts of calls (...) by the contact's own counts, times ``sign``: its
    counts of everyone's if ``everyone`` (the contact goes), and of private contacts', and its
    owner's, if ``owner`` is set (the contact is, or becomes, or stops being, private)."""
    for counted in counts:
        moves = {state: sign * int(getattr(counted, state)) for state in STATES if getattr(counted, state)}
        if not counted.account_count or not moves:
            continue
        actions = [getattr(ActivityCountItem, state).add(n) for state, n in moves.items()] if everyone else []
        if owner is not None:
            actions += [getattr(ActivityCountItem, f"p{state}").add(n) for state, n in moves.items()]
            owners = [getattr(ActivityCountItem, state).add(n) for state, n in moves.items()]
            tx.update(ActivityCountItem(pk, f"{counted.account_count}#U{owner}"), actions=owners)
        if actions:
            tx.update(ActivityCountItem(pk, counted.account_count), actions=actions)
