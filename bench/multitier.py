"""The multi-scenario load harness (issue 15): six weighted scenarios over HTTP, through the
project's own client, at many concurrent clients.

    .venv/bin/python bench/multitier.py                        # 100k profiles, 50 clients, 5 min
    .venv/bin/python bench/multitier.py --kill-every 30        # ... while shard actors are killed
    .venv/bin/python bench/multitier.py --seconds 600 --soak   # RSS of every process, per minute
    .venv/bin/python bench/multitier.py --all   # the three above over one roster (one set-up)
    .venv/bin/python bench/multitier.py --rows 5000 --seconds 30 --clients 8   # a quick look
    .venv/bin/python bench/multitier.py --rows 2000 --seconds 120 --compare-httpx
        # then the same phase with the client over httpx.AsyncClient (the same-run baseline
        # of the client's transport)
    .venv/bin/python bench/multitier.py --rows 2000 --seconds 120 --compare-no-read-copies
        # then the same phase with the app redeployed without the replicas' read copies
    .venv/bin/python bench/multitier.py --rows 2000 --seconds 120 --compare-plain-router
        # then the same phase with the app redeployed without the hot routes

It starts its own local Ray and Serve app (HAProxy ingress) on a free port, generates and
ingests the roster, embeds it with the bulk job (2 shards), then runs the scenarios
(``bench/load_scenarios.py``). Per scenario: count, p50/p99, failures with the first error;
overall scenarios/s. With ``--kill-every`` a shard actor is killed that often; 503s the
client retried through are counted apart, and afterwards every acknowledged playbook record
must still be in its corpus. Writes ``bench/results/multitier[-kill|-soak].json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.append(str(Path(__file__).resolve().parent))  # after the repo: bench/lakehouse.py
from load_scenarios import SCENARIOS, ScenarioFailed  # noqa: E402

from lakehouse.client import AsyncClient, Client, Unavailable  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WORK = Path("data/bench-multitier").resolve()
WARMUP_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(rows: int) -> tuple[str, object]:
    """Ray + Serve on a free port, the roster ingested and embedded; returns (url, settings)."""
    from deployments.launch import serve_environment

    serve_environment()
    from actors.jobs.bulk_embed import JobArgs, run
    from deployments.launch import start
    from lakehouse.settings import Settings
    from lakehouse.staffing import write_csv

    shutil.rmtree(WORK, ignore_errors=True)
    overrides = {"data_dir": str(WORK), "port": free_port()}
    settings = Settings(**overrides)
    csv = WORK / "workers.csv"
    csv.parent.mkdir(parents=True, exist_ok=True)
    write_csv(csv, rows)
    url = start(overrides, num_cpus=2).url
    with Client(url, timeout_s=600) as client:
        client.ingest.csv("workers", csv)
    started = time.perf_counter()
    summary = run(JobArgs(dataset="workers", corpus="workers", shards=2), settings)
    print(f"embedded {summary['rows_embedded']} rows in {time.perf_counter() - started:.0f} s")
    return url, settings


class Tally:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {name: [] for name in SCENARIOS}
        self.failures: dict[str, int] = dict.fromkeys(SCENARIOS, 0)
        self.unavailable: dict[str, int] = dict.fromkeys(SCENARIOS, 0)  # 503 after retries
        self.first_error: dict[str, str] = {}
        self.records: list[str] = []

    def report(self, seconds: float) -> dict:
        out = {}
        for name, samples in self.times.items():
            ordered = sorted(samples)
            out[name] = {"count": len(samples), "failures": self.failures[name],
                         "retryable_503": self.unavailable[name],
                         "p50_ms": _pick(ordered, 0.5), "p99_ms": _pick(ordered, 0.99),
                         "first_error": self.first_error.get(name)}  # fmt: skip
        total = sum(len(s) for s in self.times.values())
        failed = sum(self.failures.values())
        return {"scenarios": out, "completed": total, "failed": failed,
                "retryable_503": sum(self.unavailable.values()),
                "scenarios_per_s": round(total / seconds, 1),
                "failure_rate": round(failed / max(1, total + failed), 5)}  # fmt: skip


def _pick(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000, 1)


async def worker(
    url: str, seed: int, until: float, tally: Tally, retries: int, use_httpx: bool = False
) -> None:
    rng = random.Random(seed)
    names, weights = list(SCENARIOS), [w for w, _ in SCENARIOS.values()]
    # use_httpx: the client over httpx.AsyncClient, its transport before the aiohttp pool
    http = httpx.AsyncClient(base_url=url, timeout=60) if use_httpx else None
    async with AsyncClient(url, timeout_s=60, retries=retries, http=http) as client:
        while time.monotonic() < until:
            name = rng.choices(names, weights)[0]
            started = time.perf_counter()
            try:
                tally.records.extend(await SCENARIOS[name][1](client, rng))
            except Unavailable:  # the documented, retryable 503 (a restarting actor)
                tally.unavailable[name] += 1
                continue
            except (ScenarioFailed, Exception) as exc:  # every failure is counted, none stops
                tally.failures[name] += 1
                tally.first_error.setdefault(name, f"{type(exc).__name__}: {exc}"[:300])
                continue
            tally.times[name].append(time.perf_counter() - started)
    if http is not None:
        await http.aclose()


async def killer(settings, every_s: float, until: float, log: list) -> None:
    import ray

    from actors.vectors import shard_name

    rng = random.Random(1)
    while time.monotonic() + every_s < until:
        await asyncio.sleep(every_s)
        corpus, index = rng.choice([("workers", 0), ("workers", 1), ("_playbook", 0)])
        try:
            ray.kill(ray.get_actor(shard_name(settings, corpus, index), "lakehouse"))
            log.append({"t": round(time.monotonic(), 1), "shard": f"{corpus}/{index}"})
        except ValueError:
            pass


async def sample_rss(until: float, samples: list) -> None:
    """RSS of every process of the machine's Ray and Serve (ours: the harness started them)."""
    start = time.monotonic()
    while time.monotonic() < until:
        row = {"t": round(time.monotonic() - start)}
        for proc in _service_procs():
            try:
                row[f"{proc.pid} {proc.cmdline()[0][:60]}"] = proc.memory_info().rss
            except (psutil.Error, IndexError):  # gone meanwhile
                continue
        samples.append(row)
        await asyncio.sleep(10)


def rss_growth(samples: list) -> dict:
    after = [s for s in samples if s["t"] >= WARMUP_S]
    if len(after) < 2:
        return {}
    first, last = after[0], after[-1]
    return {k: {"rss_mib_after_warmup": round(first[k] / 2**20, 1), "rss_mib_end": round(last[k] / 2**20, 1),
                "growth_pct": round(100 * (last[k] - first[k]) / first[k], 2)}
            for k in first if k != "t" and k in last}  # fmt: skip


SERVICE_MARKS = ("ray::", "haproxy", "raylet", "gcs_server")


def _service_procs() -> list[psutil.Process]:
    """Every Ray, Serve and HAProxy process of the machine (the harness started them)."""
    procs = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])[:80]
        if any(mark in cmd for mark in SERVICE_MARKS):
            procs.append(proc)
    return procs


def process_label(cmdline: str) -> str:
    """What a service process is: a Ray actor's class (``ray::ShardActor.search`` ->
    ``ShardActor``), a Serve replica's deployment, or the binary (raylet, gcs_server, haproxy)."""
    head = cmdline.split(" ", 1)[0]
    if head.startswith("ray::"):
        return head[5:].split(".", 1)[0] or "ray worker"
    return Path(head).name or "?"


def cpu_seconds() -> dict[str, Any]:
    """CPU seconds so far: this harness (the clients), each service process, the machine."""
    service: dict[int, float] = {}
    labels: dict[int, str] = {}
    for proc in _service_procs():
        try:
            times = proc.cpu_times()
            service[proc.pid] = times.user + times.system
            labels[proc.pid] = process_label(" ".join(proc.cmdline()))
        except psutil.Error:  # gone meanwhile (a killed shard)
            continue
    own = psutil.Process().cpu_times()
    total = psutil.cpu_times()
    busy = sum(total) - total.idle - getattr(total, "iowait", 0.0)
    return {"harness": own.user + own.system, "service": service, "labels": labels,
            "machine_busy": busy}  # fmt: skip


def cpu_profile(before: dict[str, Any], after: dict[str, Any], done: int, s: float) -> dict:
    """Where the two cores went during a phase, and what one scenario cost the service.

    A service process's share is what it used between the two samples (a process that
    started meanwhile counts from 0); one that exited meanwhile (a killed shard, a Ray Data
    worker of the set-up) took its count with it, so the service figure is a floor."""
    spent = {pid: t - before["service"].get(pid, 0.0) for pid, t in after["service"].items()}
    service = sum(spent.values())
    by_process: dict[str, float] = {}
    for pid, seconds in spent.items():
        label = after["labels"].get(pid, "?")
        by_process[label] = by_process.get(label, 0.0) + 1000 * seconds / max(1, done)
    used = {"harness": round(after["harness"] - before["harness"], 1),
            "service": round(service, 1),
            "machine_busy": round(after["machine_busy"] - before["machine_busy"], 1)}  # fmt: skip
    per_scenario = 1000 * used["service"] / max(1, done)
    return {
        "cpu_seconds": used,
        "cores_busy": round(used["machine_busy"] / s, 2),
        "service_cpu_ms_per_scenario": round(per_scenario, 2),
        "service_cpu_ms_per_scenario_by_process": {
            k: round(v, 2) for k, v in sorted(by_process.items(), key=lambda x: -x[1])
        },
        "scenarios_per_s_if_the_service_had_2_cores": round(2000 / max(1e-9, per_scenario), 1),
    }


async def load(url: str, settings, args) -> dict:
    tally, kills, rss = Tally(), [], []
    until = time.monotonic() + args.seconds
    tasks = [worker(url, i, until, tally, args.retries, args.httpx) for i in range(args.clients)]
    if args.kill_every:
        tasks.append(killer(settings, args.kill_every, until, kills))
    if args.soak:
        tasks.append(sample_rss(until, rss))
    started, cpu_before = time.perf_counter(), cpu_seconds()
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    result = tally.report(seconds)
    result.update(cpu_profile(cpu_before, cpu_seconds(), result["completed"], seconds))
    result["kills"] = kills
    result["acknowledged_records"] = len(tally.records)
    result["_record_ids"] = tally.records
    if args.soak:
        result["rss"] = rss_growth(rss)
    return result


def lost_records(settings, keys: list[str]) -> int:
    """Acknowledged playbook records whose vector key is not in the playbook corpus."""
    from actors.remote.corpus_router import remote_router

    keys = list(dict.fromkeys(keys))
    if not keys:
        return 0
    found = asyncio.run(remote_router(settings).contains("_playbook", keys))
    return found.count(False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--kill-every", type=float, default=0)
    parser.add_argument("--soak", action="store_true")
    parser.add_argument(
        "--all", action="store_true",
        help="over one set-up: the plain run, a 600 s soak, then the run with kills every 30 s",
    )  # fmt: skip
    parser.add_argument("--retries", type=int, default=3, help="client retries of 503s")
    parser.add_argument("--out", type=Path, help="write the JSON here (one phase only)")
    parser.add_argument(
        "--compare-httpx", action="store_true",
        help="then the same phase with the client over httpx.AsyncClient (-httpx.json)",
    )  # fmt: skip
    for label, settings in REDEPLOYED.items():
        flag = label.replace("_", "-")
        parser.add_argument(
            f"--compare-{flag}", action="store_true",
            help=f"then the same phase with the app redeployed with {settings} (-{flag}.json)",
        )  # fmt: skip
    args = parser.parse_args()
    args.httpx = False
    if args.all and args.out:
        parser.error("--out names one phase's file; --all writes three")
    url, settings = setup(args.rows)
    if not args.all:
        phase(url, settings, args)
        if args.compare_httpx:
            out = (args.out or RESULTS / "multitier.json").with_suffix("")
            phase(url, settings, argparse.Namespace(**{**vars(args), "httpx": True,
                                                       "out": Path(f"{out}-httpx.json")}))  # fmt: skip
        for label, changed in REDEPLOYED.items():
            if getattr(args, f"compare_{label}"):
                from bench.peers import redeploy

                out = (args.out or RESULTS / "multitier.json").with_suffix("")
                redeploy({"data_dir": str(WORK), "port": settings.port, **changed})
                flag = label.replace("_", "-")
                phase(url, settings, argparse.Namespace(**{**vars(args),
                      "out": Path(f"{out}-{flag}.json")}))  # fmt: skip
        return
    for seconds, soak, kill_every in (
        (args.seconds, False, 0),
        (600, True, 0),
        (args.seconds, False, 30),
    ):
        phase(url, settings, argparse.Namespace(**{**vars(args), "seconds": seconds, "soak": soak,
                                                   "kill_every": kill_every}))  # fmt: skip


# same-run baselines: the app redeployed without one part (--compare-<label>)
REDEPLOYED = {"no_read_copies": {"local_read_bytes": 0}, "plain_router": {"hot_routes": False}}


def phase(url: str, settings, args) -> None:
    """One run of the scenarios; writes ``bench/results/multitier[-kill|-soak].json``."""
    result = {"rows": args.rows, "clients": args.clients, "seconds": args.seconds, "cores": 2,
              "kill_every_s": args.kill_every, "target_scenarios_per_s": 438,
              **asyncio.run(load(url, settings, args))}  # fmt: skip
    result["acknowledged_records_lost"] = lost_records(settings, result.pop("_record_ids"))
    suffix = "-kill" if args.kill_every else "-soak" if args.soak else ""
    out = args.out or RESULTS / f"multitier{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)


def print_table(result: dict) -> None:
    print(f"{result['clients']} clients, {result['seconds']:.0f} s, {result['rows']} profiles")
    print(
        f"{'scenario':<26}{'count':>8}{'fail':>6}{'503':>6}{'p50 ms':>10}{'p99 ms':>10}  first error"
    )
    for name, s in result["scenarios"].items():
        print(
            f"{name:<26}{s['count']:>8}{s['failures']:>6}{s['retryable_503']:>6}{s['p50_ms'] or 0:>10}{s['p99_ms'] or 0:>10}  {s['first_error'] or ''}"
        )
    print(f"scenarios/s {result['scenarios_per_s']} (target 438), failures {result['failed']}"
          f" ({result['failure_rate']:.3%}), shard kills {len(result['kills'])}, acknowledged"
          f" records {result['acknowledged_records']}, lost {result['acknowledged_records_lost']}")  # fmt: skip
    print(f"cores busy {result['cores_busy']} of 2; CPU seconds {result['cpu_seconds']}; the service"
          f" spent {result['service_cpu_ms_per_scenario']} ms of CPU per scenario, so 2 cores of"
          f" service alone would do {result['scenarios_per_s_if_the_service_had_2_cores']}/s")  # fmt: skip
    by_process = result.get("service_cpu_ms_per_scenario_by_process", {})
    print("  service CPU ms per scenario by process:", ", ".join(
        f"{k} {v}" for k, v in list(by_process.items())[:8]))  # fmt: skip
    for proc, r in result.get("rss", {}).items():
        print(
            f"  {proc:<40} {r['rss_mib_after_warmup']:>8} -> {r['rss_mib_end']:>8} MiB ({r['growth_pct']:+.1f}%)"
        )


if __name__ == "__main__":
    main()
