"""The `make up` demo: drop customer emails into the local mailbox and show their fate.

Each email comes from its own address so the admin API's ``sender`` filter finds its task;
the script waits until every task reaches a final state and prints the route and reply.

    python -m mailroom_devstack.demo --admin http://127.0.0.1:28000 --token TOKEN
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from mailroom_devstack.mail_drop import drop_mail

FINAL = {"sent", "ignored", "rejected", "handoff", "dead_letter", "send_failed", "uncertain"}


@dataclass(frozen=True)
class DemoMail:
    local: str
    name: str
    subject: str
    body: str
    extra_headers: tuple[tuple[str, str], ...] = ()


DEMO_MAILS = (
    DemoMail("lucia", "Lucía", "Envíos", "Hola! ¿Hacen envíos a Córdoba y cuánto tardan?"),
    DemoMail("martin", "Martín", "Jean mom", "¿Qué precio tiene el jean mom? ¿Tienen talle 40?"),
    DemoMail("sofia", "Sofía", "Remera", "Hola, ¿tienen la remera básica en talle M color negro?"),
    DemoMail("emma", "Emma", "Returns", "Hi, how can I return an item that doesn't fit?"),
    DemoMail(
        "jorge",
        "Jorge",
        "Pedido roto",
        "Mi pedido #1234 llegó roto. Quiero hablar con una persona ya mismo.",
    ),
    DemoMail("noah", "Noah", "Payment options", "Hello, which payment methods do you accept?"),
)


def _get(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback admin API
        return json.loads(resp.read())


def _task_for(admin: str, token: str, address: str) -> dict[str, Any] | None:
    query = urllib.parse.urlencode({"sender": address, "limit": 1})
    items = _get(f"{admin}/v1/tasks?{query}", token).get("items", [])
    return items[0] if items else None


def run(admin: str, token: str, timeout_s: float) -> int:
    run_id = uuid.uuid4().hex[:6]
    addresses: dict[str, DemoMail] = {}
    for mail in DEMO_MAILS:
        address = f"{mail.local}.{run_id}@example.com"
        drop_mail(from_addr=f"{mail.name} <{address}>", subject=mail.subject, body=mail.body)
        addresses[address] = mail
        print(f"  📬 dropped: {mail.subject!r} from {address}")
    deadline = time.monotonic() + timeout_s
    done: dict[str, dict[str, Any]] = {}
    while len(done) < len(addresses) and time.monotonic() < deadline:
        for address in addresses:
            if address in done:
                continue
            task = _task_for(admin, token, address)
            if task and task["status"] in FINAL:
                done[address] = _get(f"{admin}/v1/tasks/{task['id']}", token)
        time.sleep(1)
    for address, mail in addresses.items():
        detail = done.get(address)
        if detail is None:
            print(f"\n  ⏳ {mail.subject!r}: not finished yet")
            continue
        reply = (detail.get("reply") or {}).get("text") or "(no reply)"
        print(
            f"\n  ✅ {mail.subject!r} → status {detail['status']}, route {detail.get('route')}"
            f", intent {detail.get('intent')}\n     reply: {reply[:300]}"
        )
    return 0 if len(done) == len(addresses) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin", default="http://127.0.0.1:28000")
    parser.add_argument("--token", required=True)
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    return run(args.admin.rstrip("/"), args.token, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
