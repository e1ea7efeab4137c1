"""localstripe (a stateful fake Stripe API from PyPI) on a free loopback port, for the Stripe adapter's tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

API_KEY = "sk_test_baton_localstripe"
VISA = "pm_card_visa"
DECLINED = "pm_card_chargeCustomerFail"  # localstripe's card whose charges are declined
# localstripe's own entry point binds every interface and saves its state to /tmp/localstripe.pickle; run its
# app on loopback only, with nothing written to disk, so parallel runs never share state.
LOCALSTRIPE = (
    "import sys; from aiohttp import web; from localstripe import server; from localstripe.resources import store; "
    "store.dump_to_disk = lambda: None; "
    "web.run_app(server.app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_localstripe() -> Iterator[str]:
    """localstripe on a free loopback port until the block ends; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-c", LOCALSTRIPE, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/v1/balance", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
