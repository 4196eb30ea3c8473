"""The six weighted scenarios of the load harness, each a few calls through the client.

A scenario returns the vector keys of the playbook writes it had acknowledged (checked for
in the playbook corpus after the run; a later record of the same query and ids keeps the
key), and raises ``ScenarioFailed`` (or lets a client error through) when an
answer was not what a user expects. Validation verdicts are
answers, not failures: a refused fill is the service working.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from lakehouse.client import AsyncClient
from lakehouse.staffing import LABELLED_QUERIES
from lakehouse.staffing.roles import CITIES

CORPUS = "workers"
QUERIES = [q["query"] for q in LABELLED_QUERIES if q["roles"]]


class ScenarioFailed(Exception):
    """An answer that a user would call wrong (not an HTTP error)."""


def _cold_query(rng: random.Random) -> str:
    city, state = rng.choice(CITIES)
    return f"{rng.choice(QUERIES)} near {city}, {state} #{rng.randrange(10**6)}"


async def _search(client: AsyncClient, query: str, **options: Any) -> list[dict[str, Any]]:
    answer = await client.matrix.search([CORPUS], query=query, k=options.pop("k", 10), **options)
    if answer["partial"]:
        raise ScenarioFailed(f"partial answer: {answer['partial']}")
    return answer["hits"]


async def cold_search_email(client: AsyncClient, rng: random.Random) -> list[str]:
    hits = await _search(client, _cold_query(rng))
    if not hits:
        raise ScenarioFailed("a cold search found nobody")
    worker = hits[0]["id"]
    email = {"to": f"{worker.lower()}@example.com", "subject": "Shift offer",
             "body": f"Hello, a shift that fits your profile ({worker}) is open this week."}  # fmt: skip
    verdict = await client.validate.check("email", email)
    if "valid" not in verdict:
        raise ScenarioFailed(f"no verdict: {verdict}")
    return []


async def surge_fill(client: AsyncClient, rng: random.Random) -> list[str]:
    item = rng.choice([q for q in LABELLED_QUERIES if q["roles"]])
    hits = await _search(client, item["query"], k=5)
    candidates = [{"worker_id": h["id"]} for h in hits[:3]]
    fill = {"role": (hits[0]["metadata"] or {}).get("role", item["roles"][0]),
            "target_count": 2, "candidates": candidates}  # fmt: skip
    verdict = await client.validate.check("fill", fill)
    if "valid" not in verdict:
        raise ScenarioFailed(f"no verdict: {verdict}")
    outcome = "success" if verdict["valid"] else "failure"
    ids = [c["worker_id"] for c in candidates]
    rows = await client.playbooks.record(item["query"], ids, outcome)
    return [r["key"] for r in rows]


async def profile_swap(client: AsyncClient, rng: random.Random) -> list[str]:
    query = _cold_query(rng)
    first = [h["id"] for h in await _search(client, query, k=5)]
    second = [h["id"] for h in await _search(client, query, k=5, exclude_ids=first)]
    if set(first) & set(second):
        raise ScenarioFailed(f"exclude_ids ignored: {set(first) & set(second)}")
    return []


async def repeat_query(client: AsyncClient, rng: random.Random) -> list[str]:
    query = rng.choice(QUERIES)
    answers = [[h["id"] for h in await _search(client, query)] for _ in range(5)]
    if any(a != answers[-1] for a in answers[1:]):  # the first may precede a write
        raise ScenarioFailed("a repeated query answered differently with no write between")
    return []


async def sms_validate(client: AsyncClient, rng: random.Random) -> list[str]:
    phone = f"555-{rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}"
    sms = {"to": f"+1 {phone}", "body": f"Shift tomorrow 7am. Call {phone} to confirm."}
    verdict = await client.validate.check("sms", sms)
    if not verdict.get("valid"):
        raise ScenarioFailed(f"a phone number was refused: {verdict.get('errors')}")
    return []


async def playbook_replay(client: AsyncClient, rng: random.Random) -> list[str]:
    query = rng.choice(QUERIES)
    hits = await _search(client, query, k=10)
    chosen = hits[-1]["id"]
    rows = await client.playbooks.record(query, [chosen], "success")
    boosted = await _search(client, query, k=10, use_playbook=True)
    found = next((h for h in boosted if h["id"] == chosen), None)
    if found is None or found["explanation"]["playbook_boost"] <= 0:
        raise ScenarioFailed(f"a recorded success ({chosen}) was not boosted")
    return [r["key"] for r in rows]


Scenario = Callable[[AsyncClient, random.Random], Awaitable[list[str]]]
SCENARIOS: dict[str, tuple[float, Scenario]] = {
    "cold search + email": (0.35, cold_search_email),
    "surge fill": (0.15, surge_fill),
    "profile swap": (0.15, profile_swap),
    "repeat query x5": (0.15, repeat_query),
    "sms validate": (0.10, sms_validate),
    "playbook record + replay": (0.10, playbook_replay),
}
