"""contacts-admin: manage API keys and web forms in any contacts table (AWS, DynamoDB Local,
`make run`'s store).

    contacts-admin [--endpoint-url URL] [--table NAME] [--region R] keys create --account A [--user U] [--scope S]
                   [--name LABEL] [--key ck.A.ID.SECRET] [--form --project ID [--per-minute N]]
    contacts-admin keys list --account A
    contacts-admin keys revoke ACCOUNT.KEY_ID
    contacts-admin forms allow --account A [--origin https://HOST]... [--redirect URL]...
    contacts-admin forms disallow --account A [--origin https://HOST]... [--redirect URL]...
    contacts-admin forms show --account A
    contacts-admin accounts show --account A
    contacts-admin accounts set --account A --default-region GB
    contacts-admin upgrade --account A

`keys create` prints the new key alone on the last line: it is shown once and stored only as a hash.
`--form` makes a form key: it creates contacts in its project through POST /forms/contacts and can
do nothing else. `forms allow` lists the pages (origins) the account's forms may be posted from
and the URLs they may redirect to (a URL ending in / allows every URL under it). `upgrade` brings
an account an earlier version stored up to this one (its tag counts, its notes' own ids); run it
once after deploying this version, best while no one writes. `accounts set --default-region` sets
the region (ISO 3166-1, US unless set) that the account's phone numbers without a country code are
read in, and reindexes its contacts' numbers in it.
"""

from __future__ import annotations

import argparse
import os
import sys

from crm.auth import SCOPE_LEVELS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="contacts-admin", description="Manage contacts-api keys.")
    parser.add_argument("--endpoint-url", default=os.environ.get("DYNAMODB_ENDPOINT"), help="DynamoDB endpoint")
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", "contacts-api"), help="table name")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    groups = parser.add_subparsers(dest="group", required=True)
    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="command", required=True)
    create = keys.add_parser("create", help="create a key and print it once")
    create.add_argument("--account", required=True, help="account id (created if new)")
    create.add_argument("--user", type=int, default=1, help="user id the key acts as (default 1)")
    create.add_argument("--scope", choices=SCOPE_LEVELS, default="write", help="read, write or admin")
    create.add_argument("--name", help="a label to recognise the key by")
    create.add_argument("--key", help="register this key (ck.<account>.<id>.<secret>) instead of a random one")
    create.add_argument("--form", action="store_true", help="a form key: creates contacts through the web form only")
    create.add_argument("--project", help="the project a form key's contacts go into (needed with --form)")
    create.add_argument("--per-minute", type=int, help="a form key's rate (default 10 contacts a minute)")
    listing = keys.add_parser("list", help="list an account's keys (never their secrets)")
    listing.add_argument("--account", required=True)
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="ACCOUNT.KEY_ID, as keys list shows it")
    forms = groups.add_parser("forms", help="where web forms may be posted from").add_subparsers(
        dest="command", required=True
    )
    for name, text in (("allow", "add origins and redirect URLs"), ("disallow", "remove them")):
        change = forms.add_parser(name, help=text)
        change.add_argument("--account", required=True)
        change.add_argument("--origin", action="append", default=[], help="https://www.example.com (repeatable)")
        change.add_argument("--redirect", action="append", default=[], help="a redirect_on_success URL (repeatable)")
    forms.add_parser("show", help="the account's origins and redirect URLs").add_argument("--account", required=True)
    accounts = groups.add_parser("accounts", help="an account's settings").add_subparsers(dest="command", required=True)
    accounts.add_parser("show", help="the account's settings").add_argument("--account", required=True)
    settings = accounts.add_parser("set", help="change the account's settings")
    settings.add_argument("--account", required=True)
    settings.add_argument("--default-region", required=True, help="phone numbers' region: US, GB, FR...")
    upgrade = groups.add_parser("upgrade", help="bring an account an earlier version stored up to this one")
    upgrade.add_argument("--account", required=True)
    return parser


def _upgrade(args: argparse.Namespace) -> int:
    from crm.upgrade import upgrade

    done = upgrade(args.account)
    print(
        f"Account {args.account}: {done.contacts} contacts read, {done.tags} tags counted, "
        f"{done.notes_linked} notes given their own id, {done.reindexed} contacts reindexed."
    )
    return 0


def _accounts(args: argparse.Namespace) -> int:
    from crm import accounts
    from crm.upgrade import reindex

    if args.command == "set":
        region = accounts.set_default_region(args.account, args.default_region)
        print(f"Account {args.account}: phone numbers read in {region}; {reindex(args.account)} contacts reindexed.")
    else:
        print(f"Account {args.account}: phone numbers read in {accounts.default_region(args.account)}.")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from crm import keys

    if args.command == "create":
        if args.form != bool(args.project):
            raise ValueError("--form and --project go together: a form key adds contacts to one project")
        item, key = keys.create_key(
            args.account, args.user, args.scope, args.name, args.key, args.project, args.per_minute
        )
        key_id = keys.public_id(args.account, item.key_id)
        grant = f"a form key for project {args.project}" if args.form else f"scope {args.scope}"
        print(f"Created key {key_id} for user {args.user} of account {args.account} with {grant}.")
        print("Store it now: it is shown only this once.")
        print(key)
    elif args.command == "list":
        print(f"{'KEY ID':<32} {'USER':>5} {'SCOPE':<14} {'CREATED':<26} {'REVOKED':<26} NAME")
        for item in keys.list_keys(args.account):
            scope = f"form:{item.form_project}" if item.form_project else item.scope
            print(
                f"{keys.public_id(args.account, item.key_id):<32} {int(item.user_id):>5} {scope:<14} "
                f"{item.created_at:<26} {item.revoked_at or '-':<26} {item.name or ''}"
            )
    elif args.command == "revoke":
        if not keys.revoke(args.key_id):
            print(f"No key {args.key_id}", file=sys.stderr)
            return 1
        print(f"Revoked {args.key_id}")
    return 0


def _forms(args: argparse.Namespace) -> int:
    from crm import forms

    if args.command == "allow":
        settings = forms.allow(args.account, args.origin, args.redirect)
    elif args.command == "disallow":
        settings = forms.disallow(args.account, args.origin, args.redirect)
    else:
        settings = forms.settings_of(args.account)
    print(f"Forms of account {args.account} may be posted from:")
    for origin in sorted(settings.origins) or ["(no page: browsers are refused)"]:
        print(f"  origin   {origin}")
    for url in sorted(settings.redirects):
        print(f"  redirect {url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported after the arguments so that --table and --endpoint-url bind the models.
    from crm.storage.db import bind

    if args.endpoint_url:
        # A local DynamoDB checks no signature, but botocore signs every request.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    bind(args.table, args.endpoint_url or None, args.region or "us-east-1")
    try:
        return {"keys": _keys, "forms": _forms, "accounts": _accounts, "upgrade": _upgrade}[args.group](args)
    except ValueError as exc:
        print(f"contacts-admin: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
