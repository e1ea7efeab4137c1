"""`./baton staff ...`: create and look after staff accounts in BATON_DATABASE_URL's database.

./baton staff add alice --role ho_agent --name "Alice Smith"     # asks for the password (or reads stdin)
./baton staff add sam --role store_staff --store S001
./baton staff password alice        # a new password: alice's open sessions end
./baton staff disable alice         # (and `enable`): disabling ends her sessions
./baton staff list
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlmodel import Session

from models.db.engine import create_tables, make_engine
from models.db.staff import StaffAccountError, create_staff_user, list_staff_users, set_active, set_password
from models.settings import Settings
from models.staff import StaffRole, StaffUser, check_password


def _read_password() -> str:
    """From the terminal, asked twice; or the first line of stdin (scripts), never from the command line."""
    if not sys.stdin.isatty():
        return check_password(sys.stdin.readline().rstrip("\n"))
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the two passwords differ")
    return check_password(first)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="./baton staff", description="Staff accounts for the web pages.")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    add.add_argument("--store", help="the store of store staff (e.g. S001)")
    add.add_argument("--name", help="the name people see (default: the user name)")
    for name, text in (("password", "set a new password"), ("disable", "disable"), ("enable", "enable again")):
        commands.add_parser(name, help=text).add_argument("username")
    commands.add_parser("list", help="every account")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    engine = make_engine(settings.database_url)
    if settings.database_auto_create:  # as the API does on start; production runs ./baton migrate first
        create_tables(engine)
    now = datetime.now(UTC)
    try:
        with Session(engine) as session:
            if args.command == "add":
                user = StaffUser(
                    username=args.username,
                    display_name=args.name or args.username,
                    role=StaffRole(args.role),
                    store_id=args.store,
                )
                create_staff_user(session, user, _read_password(), now)
                print(f"created {user.username} ({user.role.label}{f' {user.store_id}' if user.store_id else ''})")
            elif args.command == "password":
                set_password(session, args.username, _read_password(), now)
                print(f"new password for {args.username}; their open sessions have ended")
            elif args.command in ("disable", "enable"):
                set_active(session, args.username, args.command == "enable")
                print(f"{args.username} {args.command}d")
            else:
                for u in list_staff_users(session):
                    store = f" {u.store_id}" if u.store_id else ""
                    disabled = "" if u.active else "  (disabled)"
                    print(f"{u.username}\t{u.role.value}{store}\t{u.display_name}{disabled}")
    except (StaffAccountError, ValueError, ValidationError) as error:
        print(f"./baton staff: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
