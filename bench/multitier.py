"""The multi-scenario load harness (issue 15): six weighted staffing scenarios over HTTP.

    python -m bench.multitier --url http://127.0.0.1:8000 --clients 50 --duration 300
    python -m bench.multitier --duration 600 --soak     # + RSS of every project process

Scenarios (weights as in the system this reimplements, which measured 438 scenarios/s at 0%
failures): 35% cold search + email draft validated, 15% surge fill (search, propose,
fill-validate, record the outcome), 15% profile swap (search, then again with the first
answer's ids excluded, checked disjoint), 15% repeat query x5 (the cache), 10% SMS validate
(a phone number must pass the SSN guard), 10% playbook record then replay with
``use_playbook``. Each scenario checks its answers; a wrong answer is a failure like a 5xx.
Per scenario: count, p50/p99 ms, failures and the first error; JSON to bench/results/.
``--soak`` samples the RSS of every Ray/Serve/HAProxy process and reports growth after the
first fifth of the run (the warm-up). Needs a running service with the roster ingested and
embedded into ``--corpus`` (``make run`` does both).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

QUERIES = [
    "forklift driver for night shift at a distribution center",
    "registered nurse to administer medications",
    "line cook with grill experience",
    "warehouse associate who can lift 50 pounds",
    "certified nursing assistant for weekend shifts",
    "electrician with commercial wiring experience",
    "customer service representative bilingual spanish",
    "welder with MIG certification",
    "delivery driver with clean record",
    "dishwasher for a busy restaurant",
]
RESULTS = Path(__file__).parent / "results"


class Failed(Exception):
    """A scenario's answer was wrong (or an error status)."""


class Session:
    """One client's view of the service: a shared HTTP connection pool and the corpus."""

    def __init__(self, http: httpx.AsyncClient, corpus: str, rng: random.Random) -> None:
        self.http, self.corpus, self.rng = http, corpus, rng

    async def call(self, method: str, path: str, body: Any = None, ok=(200, 201)) -> Any:
        resp = await self.http.request(method, path, json=body)
        if resp.status_code not in ok:
            raise Failed(f"{method} {path} -> {resp.status_code}: {resp.text[:160]}")
        return resp.json()

    async def search(self, query: str, **extra: Any) -> list[dict]:
        body = {"query": query, "corpora": [{"name": self.corpus}], "k": 10, **extra}
        hits = (await self.call("POST", "/v1/matrix/search", body))["hits"]
        if not hits:
            raise Failed(f"no hits for {query!r}")
        return hits

    def query(self) -> str:
        return f"{self.rng.choice(QUERIES)} #{self.rng.randrange(10**6)}"  # cold: not cached


async def cold_search_email(s: Session) -> None:
    hit = (await s.search(s.query()))[0]
    draft = {"to": "recruiter@example.com", "subject": "Candidate for your opening",
             "body": f"We recommend worker {hit['id']} for the role."}  # fmt: skip
    verdict = await s.call("POST", "/v1/validate", {"kind": "email", "payload": draft})
    if not verdict["valid"]:
        raise Failed(f"a clean email draft was refused: {verdict['errors']}")


async def surge_fill(s: Session) -> None:
    hits = await s.search(s.query())
    lead = hits[0].get("metadata") or {}
    same = [h for h in hits if (h.get("metadata") or {}).get("role") == lead.get("role")]
    fill = {"role": lead.get("role", ""), "target_count": 1,
            "location": f"{lead.get('city', '')}, {lead.get('state', '')}",
            "candidates": [{"worker_id": h["id"]} for h in same[:1]]}  # fmt: skip
    resp = await s.http.post("/v1/validate", json={"kind": "fill", "payload": fill})
    if resp.status_code not in (200, 422):
        raise Failed(f"fill validate -> {resp.status_code}: {resp.text[:160]}")
    outcome = "success" if resp.json()["valid"] else "failure"
    record = {"query": "surge " + s.rng.choice(QUERIES), "ids": [same[0]["id"]], "outcome": outcome}
    await s.call("POST", "/v1/matrix/playbooks/record", record)


async def profile_swap(s: Session) -> None:
    query = s.query()
    first = {h["id"] for h in await s.search(query)}
    second = {h["id"] for h in await s.search(query, exclude_ids=sorted(first))}
    if first & second:
        raise Failed(f"exclude_ids ignored: {sorted(first & second)[:3]}")


async def repeat_query(s: Session) -> None:
    query = s.rng.choice(QUERIES)  # a warm one: the repeat cache answers
    answers = [[h["id"] for h in await s.search(query)] for _ in range(5)]
    if any(a != answers[0] for a in answers):
        raise Failed("the same query answered differently within one scenario")


async def sms_validate(s: Session) -> None:
    sms = {"to": f"+1555{s.rng.randrange(10**7):07d}",
           "body": f"Shift confirmed. Call us at 555-{s.rng.randrange(10**3):03d}-0100."}  # fmt: skip
    verdict = await s.call("POST", "/v1/validate", {"kind": "sms", "payload": sms}, ok=(200, 422))
    if not verdict["valid"]:
        raise Failed(f"a phone number tripped the SSN guard: {verdict['errors']}")


async def playbook_replay(s: Session) -> None:
    query = "playbook " + s.rng.choice(QUERIES)
    target = (await s.search(query))[-1]["id"]
    await s.call("POST", "/v1/matrix/playbooks/record",
                 {"query": query, "ids": [target], "outcome": "success"})  # fmt: skip
    await s.search(query, use_playbook=True)


SCENARIOS: dict[str, tuple[int, Callable[[Session], Awaitable[None]]]] = {
    "cold_search_email": (35, cold_search_email),
    "surge_fill": (15, surge_fill),
    "profile_swap": (15, profile_swap),
    "repeat_query_x5": (15, repeat_query),
    "sms_validate": (10, sms_validate),
    "playbook_replay": (10, playbook_replay),
}


async def client_loop(s: Session, deadline: float, stats: dict[str, dict]) -> None:
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][0] for n in names]
    while time.monotonic() < deadline:
        name = s.rng.choices(names, weights)[0]
        entry = stats[name]
        started = time.perf_counter()
        try:
            await SCENARIOS[name][1](s)
            entry["latencies"].append(time.perf_counter() - started)
        except Exception as exc:  # a wrong answer, an error status, a dropped connection
            entry["failures"] += 1
            entry["first_error"] = entry["first_error"] or f"{type(exc).__name__}: {exc}"[:300]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stats = {n: {"latencies": [], "failures": 0, "first_error": None} for n in SCENARIOS}
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    sampler = RssSampler(args.soak_every_s) if args.soak else None
    async with httpx.AsyncClient(
        base_url=args.url, headers=headers, timeout=60, limits=limits
    ) as http:
        await Session(http, args.corpus, random.Random(0)).search(QUERIES[0])  # reachable?
        started = time.monotonic()
        deadline = started + args.duration
        tasks = [client_loop(Session(http, args.corpus, random.Random(i)), deadline, stats)
                 for i in range(args.clients)]  # fmt: skip
        if sampler:
            tasks.append(sampler.loop(deadline))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    return summarise(stats, elapsed, args, sampler)


def summarise(stats: dict, elapsed: float, args: argparse.Namespace, sampler) -> dict[str, Any]:
    scenarios = {}
    for name, entry in stats.items():
        lat = sorted(entry["latencies"])
        scenarios[name] = {
            "count": len(lat) + entry["failures"],
            "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)
            if lat
            else None,
            "failures": entry["failures"],
            "first_error": entry["first_error"],
        }
    total = sum(s["count"] for s in scenarios.values())
    failures = sum(s["failures"] for s in scenarios.values())
    out = {
        "url": args.url, "clients": args.clients, "duration_s": round(elapsed, 1),
        "scenarios_per_s": round(total / elapsed, 1), "total": total, "failures": failures,
        "failure_rate": round(failures / total, 4) if total else None,
        "target": {"scenarios_per_s": 438, "failure_rate": 0.0, "source": "the Go system"},
        "scenarios": scenarios,
    }  # fmt: skip
    if sampler:
        out["rss"] = sampler.report()
    return out


class RssSampler:
    """RSS of every Ray, Serve and HAProxy process on this machine, sampled during the run."""

    MARKERS = ("ray::", "raylet", "gcs_server", "haproxy", "lakehouse", "dashboard")

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.samples: dict[str, list[int]] = {}

    async def loop(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self.sample()
            await asyncio.sleep(self.every_s)
        self.sample()

    def sample(self) -> None:
        import psutil

        for proc in psutil.process_iter(["pid", "name", "cmdline", "memory_info"]):
            line = " ".join(proc.info["cmdline"] or [proc.info["name"] or ""])
            if any(m in line for m in self.MARKERS) and proc.info["memory_info"]:
                key = f"{proc.info['pid']} {line[:60]}"
                self.samples.setdefault(key, []).append(proc.info["memory_info"].rss)

    def report(self) -> dict[str, Any]:
        """Per process: RSS after warm-up (the first fifth) and at the end, and the growth."""
        out = {}
        for key, values in self.samples.items():
            if len(values) < 5:
                continue
            warm, last = values[len(values) // 5], values[-1]
            out[key] = {"warm_mib": round(warm / 2**20, 1), "last_mib": round(last / 2**20, 1),
                        "growth_pct": round(100 * (last - warm) / warm, 1)}  # fmt: skip
        flat = all(v["growth_pct"] < 5 for v in out.values())
        return {"processes": out, "all_flat_under_5pct": flat}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", default="", help="bearer token (LAKEHOUSE_AUTH_TOKENS)")
    parser.add_argument("--corpus", default="workers")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds")
    parser.add_argument("--soak", action="store_true", help="sample RSS of every process")
    parser.add_argument("--soak-every-s", type=float, default=10.0)
    parser.add_argument("--out", default="", help="JSON path (default bench/results/...)")
    parser.add_argument("--note", default="", help="what ran: kept in the JSON")
    args = parser.parse_args()
    result = {"note": args.note, **asyncio.run(run(args))}
    name = "multitier-soak.json" if args.soak else "multitier.json"
    path = Path(args.out) if args.out else RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rss"}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
