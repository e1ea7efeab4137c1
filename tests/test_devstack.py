"""The first Quick start command: the whole stack starts, serves, stops on Ctrl-C and keeps its data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import order_body

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(var: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BATON_")}
    env["BATON_VAR_DIR"] = str(var)
    return subprocess.Popen(
        [
            sys.executable,
            "devstack.py",
            "--api-port",
            str(ports["api"]),
            "--temporal-port",
            str(ports["temporal"]),
            "--ui-port",
            str(ports["ui"]),
            "--smtp-port",
            str(ports["smtp"]),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_serving(process: subprocess.Popen[str], api: str) -> str:
    output = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        output.append(line)
        if "Store S001 webhook secret" in line:
            for _ in range(100):
                try:
                    if httpx.get(f"{api}/products", timeout=2).status_code == 200:  # (stores need a key)
                        return "".join(output)
                except httpx.HTTPError:
                    time.sleep(0.2)
        if process.poll() is not None:
            break
    process.kill()
    pytest.fail("dev stack did not start:\n" + "".join(output))


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=60)


def test_dev_stack_starts_serves_stops_and_keeps_data(tmp_path):
    ports = {"api": _free_port(), "temporal": _free_port(), "ui": _free_port(), "smtp": _free_port()}
    api = f"http://127.0.0.1:{ports['api']}"
    first = _start(tmp_path, ports)
    try:
        banner = _wait_until_serving(first, api)
        assert f"http://127.0.0.1:{ports['api']}/docs" in banner
        assert f"http://localhost:{ports['ui']}" in banner
        assert httpx.get(f"http://localhost:{ports['ui']}/", timeout=10).status_code == 200
        keys = json.loads((tmp_path / "dev-credentials.json").read_text())
        channel_key = next(key for key, holder in keys.items() if holder["role"] == "channel")
        headers = {"Authorization": f"Bearer {channel_key}"}
        created = httpx.post(f"{api}/orders", json=order_body(), headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        number = created.json()["order_number"]
        assert len(httpx.get(f"{api}/products", timeout=5).json()) >= 20
    finally:
        assert _stop(first) == 0
    second = _start(tmp_path, ports)
    try:
        _wait_until_serving(second, api)
        for _ in range(100):
            view = httpx.get(f"{api}/orders/{number}", headers=headers, timeout=5).json()
            if view["status"] == "awaiting_acknowledgement":
                break
            time.sleep(0.2)
        assert view["status"] == "awaiting_acknowledgement"
        assert len(httpx.get(f"{api}/stores", headers=headers, timeout=5).json()) == 5  # seeded once, not twice
        # The customer is e-mailed when Head Office cancels: the local SMTP sink keeps it in var/mail.
        ho_key = next(key for key, holder in keys.items() if holder["role"] == "head_office")
        cancel = httpx.post(
            f"{api}/orders/{number}/cancel",
            json={"reason": "customer called"},
            headers={"Authorization": f"Bearer {ho_key}"},
            timeout=10,
        )
        assert cancel.status_code == 200, cancel.text
        for _ in range(150):
            kept = (
                [p.read_text() for p in (tmp_path / "mail" / "new").glob("*")] if (tmp_path / "mail").exists() else []
            )
            if any(f"Your order {number} has been cancelled" in message for message in kept):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"no cancellation e-mail in {tmp_path / 'mail'}")
    finally:
        assert _stop(second) == 0
