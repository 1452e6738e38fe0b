"""contacts-admin: manage API keys in any contacts table (AWS, DynamoDB Local, `make run`'s store).

    contacts-admin [--endpoint-url URL] [--table NAME] [--region R] keys create --account A [--user U] [--scope S]
                   [--name LABEL] [--key ck.A.ID.SECRET]
    contacts-admin keys list --account A
    contacts-admin keys revoke ACCOUNT.KEY_ID

`keys create` prints the new key alone on the last line: it is shown once and stored only as a hash.
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
    listing = keys.add_parser("list", help="list an account's keys (never their secrets)")
    listing.add_argument("--account", required=True)
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="ACCOUNT.KEY_ID, as keys list shows it")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported after the arguments so that --table and --endpoint-url bind the models.
    from crm import keys
    from crm.storage.db import bind

    if args.endpoint_url:
        # A local DynamoDB checks no signature, but botocore signs every request.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    bind(args.table, args.endpoint_url or None, args.region or "us-east-1")
    try:
        if args.command == "create":
            item, key = keys.create_key(args.account, args.user, args.scope, args.name, args.key)
            print(
                f"Created key {keys.public_id(args.account, item.key_id)} for user {args.user} "
                f"of account {args.account} with scope {args.scope}."
            )
            print("Store it now: it is shown only this once.")
            print(key)
        elif args.command == "list":
            print(f"{'KEY ID':<32} {'USER':>5} {'SCOPE':<6} {'CREATED':<26} {'REVOKED':<26} NAME")
            for item in keys.list_keys(args.account):
                print(
                    f"{keys.public_id(args.account, item.key_id):<32} {int(item.user_id):>5} {item.scope:<6} "
                    f"{item.created_at:<26} {item.revoked_at or '-':<26} {item.name or ''}"
                )
        elif args.command == "revoke":
            if not keys.revoke(args.key_id):
                print(f"No key {args.key_id}", file=sys.stderr)
                return 1
            print(f"Revoked {args.key_id}")
    except ValueError as exc:
        print(f"contacts-admin: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
