"""Start the whole Baton stack on one machine: Temporal dev server (with UI), worker, API, demo data.

`./baton up` runs this. State lives under var/, so a second run keeps orders, stock and settings.
Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import cast

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from sqlmodel import Session

from models.db import create_tables, make_engine
from models.db.catalogue import store_webhook
from models.db.demo import seed_demo, seed_demo_staff
from models.settings import ROOT, Settings
from workflows.client import connect_temporal, register_search_attributes

# BATON_VAR_DIR lets a second stack run beside the first (benchmarks, demos) without sharing state.
VAR = Path(os.environ.get("BATON_VAR_DIR", ROOT / "var")).resolve()
CREDENTIALS = VAR / "dev-credentials.json"
# {"temporal": pid, "worker": pid, "api": pid} while the stack runs, for bench/journey.py's CPU figures.
PIDS = VAR / "pids.json"
BIN = Path(sys.executable).parent


def _dev_api_keys() -> dict[str, dict[str, str]]:
    """Demo API keys, made once per checkout and kept in var/ (production sets BATON_API_KEYS)."""
    if CREDENTIALS.exists():
        keys: dict[str, dict[str, str]] = json.loads(CREDENTIALS.read_text())
        if any(holder["role"] == "store" for holder in keys.values()):
            return keys
    else:
        keys = {
            f"ho-{secrets.token_urlsafe(18)}": {"name": "demo-head-office", "role": "head_office"},
            f"web-{secrets.token_urlsafe(18)}": {"name": "demo-webstore", "role": "channel"},
        }
    # Store staff sign in to the Pick Manager (/ui/store) with a store key.
    keys[f"store-{secrets.token_urlsafe(18)}"] = {"name": "demo-store-s001", "role": "store", "store_id": "S001"}
    CREDENTIALS.write_text(json.dumps(keys, indent=2))
    CREDENTIALS.chmod(0o600)
    return keys


async def _wait_for_temporal(settings: Settings, server: subprocess.Popen[bytes]) -> None:
    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit(f"temporal dev server exited with code {server.returncode}")
        try:
            client = await connect_temporal(settings)
            added = await register_search_attributes(client)
            if added:
                print(f"registered search attributes: {', '.join(added)}")
            return
        except Exception:  # noqa: BLE001  (the server is still starting)
            await asyncio.sleep(0.5)
    raise SystemExit("temporal dev server did not come up within 60 seconds")


def _terminate(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop the API, then the worker, then Temporal: each one finishes before what it depends on goes."""
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--temporal-port", type=int, default=7233)
    parser.add_argument("--ui-port", type=int, default=8233)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=8025, help="the local SMTP sink that keeps Baton's e-mail")
    args = parser.parse_args()

    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("BATON_TEMPORAL_ADDRESS", f"127.0.0.1:{args.temporal_port}")
    env.setdefault("BATON_TEMPORAL_UI_URL", f"http://localhost:{args.ui_port}")
    if "BATON_API_KEYS" not in env:
        env["BATON_API_KEYS"] = json.dumps(_dev_api_keys())
    env.setdefault("BATON_DATABASE_URL", f"sqlite:///{VAR / 'baton.db'}")
    env.setdefault("BATON_EXTRACT_DROP_FOLDER", str(VAR / "extracts"))  # XML notification extracts land here
    env.setdefault("BATON_COOKIE_SECURE", "false")  # the dev stack serves plain http
    env.setdefault("BATON_ALLOW_PRIVATE_TARGETS", "true")  # the demo receivers and stores run on this machine
    # E-mail goes to a local SMTP sink (below) that keeps every message in var/mail, a Maildir; /ui/mail lists them.
    env.setdefault("BATON_SMTP_URL", f"smtp://127.0.0.1:{args.smtp_port}")
    os.environ.update(env)
    settings = Settings()

    engine = make_engine(settings.database_url)
    create_tables(engine)
    with Session(engine) as session:
        if seed_demo(session):
            print("seeded demo data: 4 stores, 1 warehouse, 23 product variants, stock everywhere")
        if seed_demo_staff(session):
            print("seeded demo staff (dev only): dana / dana-dev-only-password, sam / sam-dev-only-password")
        _url, demo_secret = store_webhook(session, "S001")
    engine.dispose()

    processes: list[subprocess.Popen[bytes]] = []
    stopping = False
    failed = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    mail_sink = Controller(Mailbox(VAR / "mail"), hostname="127.0.0.1", port=args.smtp_port)
    mail_sink.start()
    try:
        processes.append(
            subprocess.Popen(
                [
                    str(BIN / "temporal"),
                    "server",
                    "start-dev",
                    "--db-filename",
                    str(VAR / "temporal.db"),
                    "--ip",
                    args.host,
                    "--port",
                    str(args.temporal_port),
                    "--ui-port",
                    str(args.ui_port),
                    "--log-level",
                    "warn",
                ],
                env=env,
            )
        )
        asyncio.run(_wait_for_temporal(settings, processes[0]))
        processes.append(subprocess.Popen([sys.executable, str(ROOT / "worker.py")], env=env, cwd=ROOT))
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "api.app:create_app",
                    "--factory",
                    "--host",
                    args.host,
                    "--port",
                    str(args.api_port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                    # Longer than clients' and proxies' idle timeouts (httpx: 5 s, load balancers: 60 s), so the
                    # server never closes a kept-alive connection just as a client sends on it.
                    "--timeout-keep-alive",
                    "75",
                ],
                env=env,
                cwd=ROOT,
            )
        )
        temporal, worker, api = processes
        PIDS.write_text(json.dumps({"temporal": temporal.pid, "worker": worker.pid, "api": api.pid}))
        keys = json.loads(env["BATON_API_KEYS"])
        ho_key = next((k for k, v in keys.items() if v["role"] == "head_office"), "(set in BATON_API_KEYS)")
        web_key = next((k for k, v in keys.items() if v["role"] == "channel"), "(set in BATON_API_KEYS)")
        store_key = next((k for k, v in keys.items() if v["role"] == "store"), "(set in BATON_API_KEYS)")
        print(
            "\nBaton is running. Ctrl-C stops everything.\n"
            f"  API docs:        http://{args.host}:{args.api_port}/docs\n"
            f"  Web pages:       http://{args.host}:{args.api_port}/ui (staff: dana / dana-dev-only-password, "
            "sam / sam-dev-only-password for store S001; or a key below)\n"
            f"  Temporal UI:     http://localhost:{args.ui_port}\n"
            f"  Sent mail:       http://{args.host}:{args.api_port}/ui/mail (messages in {VAR / 'mail'})\n"
            f"  Head Office key: {ho_key}\n"
            f"  Webstore key:    {web_key}\n"
            f"  Store S001 key:  {store_key} (the Pick Manager)\n"
            f"  Store S001 webhook secret: {demo_secret}\n",
            flush=True,
        )
        while not stopping:
            for process in processes:
                if process.poll() is not None:
                    command = cast(list[str], process.args)  # each was started with a list of str
                    print(
                        f"{command[1] if len(command) > 1 else command[0]} exited "
                        f"with code {process.returncode}; stopping",
                        file=sys.stderr,
                    )
                    stopping = failed = True
            try:
                processes[0].wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
    finally:
        PIDS.unlink(missing_ok=True)
        _terminate(processes)
        mail_sink.stop()
        print("Baton stopped.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
