"""Matrix benchmark: fan-out latency, retrieval quality with and without the playbook.

    .venv/bin/python bench/matrix.py [--rows 5000] [--queries 200]

One run, in-process shards (``local_router``) and the real ONNX embedder:
- p50 of a matrix search over 1 corpus and over 3 corpora (parallel fan-out), against the
  same 3 searches awaited one after another, measured in the same run (target: 3-corpus
  p50 <= 1.6x the 1-corpus p50; one after another would be ~3x). The three corpora hold the
  same profile vectors under three names, so each search does the same work.
- labelled staffing queries: hit@1 / hit@10 without the playbook (a hit is a returned
  worker whose role is one of the query's roles); then success outcomes recorded for a
  training half (the best correct-role ids of each), measured on the held-out half, on
  the training queries themselves, and on hand-written paraphrases of training queries.
- out-of-domain queries (roles == []): are they flagged low_confidence?
Writes bench/results/matrix.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "data" / "bench" / "matrix"

from actors.router import local_router  # noqa: E402
from lakehouse.embed import EmbedConfig, open_embedder  # noqa: E402
from lakehouse.jobs.bulk_embed import META_COLUMNS, row_text  # noqa: E402
from lakehouse.matrix import MatrixConfig, MatrixQuery, MatrixSearch, Record  # noqa: E402
from lakehouse.matrix.fusion import fuse  # noqa: E402
from lakehouse.settings import Settings  # noqa: E402
from lakehouse.staffing import LABELLED_QUERIES, generate_batches  # noqa: E402
from lakehouse.storage import open_store  # noqa: E402
from lakehouse.vectors.registry import make_corpus  # noqa: E402

CORPORA = ("workers", "placements", "certs")
PARAPHRASES = {  # training query -> a paraphrase never recorded
    "forklift driver for night shift at a distribution center": "night-shift forklift operator for a DC",
    "warehouse picker packer with RF scanner experience": "order picker who has used RF scanners in a warehouse",
    "nursing assistant for elderly residents, CPR certified": "CPR certified nursing aide for seniors",
    "RN with IV therapy and ACLS for a med-surg floor": "registered nurse, IV and ACLS, medical-surgical unit",
    "grill cook for busy dinner service": "cook on the grill for a busy dinner rush",
    "waiter for a fine dining restaurant": "server for an upscale fine dining restaurant",
    "hotel room attendant to clean guest rooms": "housekeeping attendant for hotel guest rooms",
    "guard with a guard card to patrol a campus": "licensed security guard to patrol a college campus",
    "journeyman electrician for commercial wiring": "commercial electrician, journeyman level",
    "class A CDL driver with hazmat endorsement": "CDL-A truck driver with a hazmat endorsement",
    "call center agent to resolve billing complaints": "customer service rep for billing complaints on the phone",
    "CNC machine operator who can inspect parts": "operator for CNC machines who checks parts",
    "HVAC tech with EPA 608 for commercial repairs": "EPA 608 certified HVAC technician for commercial work",
    "groundskeeper for lawn care and irrigation": "landscaper for lawns and irrigation systems",
}


def p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def build(rows: int, embedder) -> tuple:
    shutil.rmtree(WORK, ignore_errors=True)
    settings = Settings(data_dir=WORK)
    store = open_store(settings)
    router = local_router(settings, store)
    profiles = [r for b in generate_batches(rows) for r in b.to_pylist()]
    started = time.perf_counter()
    vectors = embedder.embed_documents([row_text(r) for r in profiles])
    embed_s = time.perf_counter() - started
    ids = [str(r["worker_id"]) for r in profiles]
    meta = [{c: r[c] for c in META_COLUMNS} for r in profiles]
    for name in CORPORA:
        await router.registry.create(make_corpus(name, embedder.dim, "cosine", 2))
        for s in range(0, rows, 1000):
            await router.add(name, ids[s : s + 1000], vectors[s : s + 1000], meta[s : s + 1000])
    return settings, store, router, embed_s


async def fan_out(router, embedder, queries: int, k: int = 10) -> dict:
    matrix = MatrixSearch(router, config=MatrixConfig(cache_entries=0))
    texts = [q["query"] for q in LABELLED_QUERIES]
    vectors = embedder.embed_query([texts[i % len(texts)] + f" #{i}" for i in range(queries)])
    timings: dict[str, list[float]] = {
        "1 corpus": [],
        "3 corpora parallel": [],
        "3 corpora sequential": [],
    }
    for vector in vectors:  # interleaved, so drift hits all three alike
        for label, names in (("1 corpus", CORPORA[:1]), ("3 corpora parallel", CORPORA)):
            q = MatrixQuery(corpora=[(n, 1.0) for n in names], vector=vector.tolist(), k=k)
            t = time.perf_counter()
            await matrix.search(q)
            timings[label].append(time.perf_counter() - t)
        t = time.perf_counter()
        found = {n: (await router.search(n, vector, k))["hits"] for n in CORPORA}
        fuse(found, dict.fromkeys(CORPORA, 1.0), "rrf")
        timings["3 corpora sequential"].append(time.perf_counter() - t)
    out = {"k": k, **{label: p50_ms(s) for label, s in timings.items()}}
    base = out["1 corpus"]
    out["parallel_x_1"] = round(out["3 corpora parallel"] / base, 2)
    out["sequential_x_1"] = round(out["3 corpora sequential"] / base, 2)
    return out


async def quality(matrix: MatrixSearch, queries: list[dict], playbook: bool) -> dict:
    hit1 = hit10 = 0
    for q in queries:
        answer = await matrix.search(
            MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=10, use_playbook=playbook)
        )
        roles = [h["metadata"]["role"] in q["roles"] for h in answer["hits"]]
        hit1 += bool(roles[:1] and roles[0])
        hit10 += any(roles)
    n = max(len(queries), 1)
    return {"queries": len(queries), "hit@1": round(hit1 / n, 3), "hit@10": round(hit10 / n, 3)}


async def recorded_at_1(
    matrix: MatrixSearch, queries: list[dict], recorded: dict, playbook: bool
) -> float:
    """How often the top hit is one of the ids recorded for that (or the paraphrased) query."""
    top = 0
    for q in queries:
        answer = await matrix.search(
            MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=10, use_playbook=playbook)
        )
        top += bool(answer["hits"]) and answer["hits"][0]["id"] in recorded[q["source"]]
    return round(top / max(len(queries), 1), 3)


async def train(matrix: MatrixSearch, queries: list[dict], recorded: dict) -> int:
    records = []
    for q in queries:
        answer = await matrix.search(MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=50))
        good = [h["id"] for h in answer["hits"] if h["metadata"]["role"] in q["roles"]]
        good = good[3:6]  # correct-role ids the plain search does not already rank first
        recorded[q["query"]] = set(good)
        if good:
            records.append(Record(q["query"], tuple(good), "success"))
    await matrix.record(records, who="bench")
    return len(records)


async def confidence(matrix: MatrixSearch, queries: list[dict]) -> list[dict]:
    out = []
    for q in queries:
        answer = await matrix.search(MatrixQuery(corpora=[("workers", 1.0)], text=q["query"], k=10))
        out.append({"query": q["query"], "in_domain": bool(q["roles"]),
                    "best_raw_score": round(answer["best_raw_score"], 3),
                    "low_confidence": answer["low_confidence"]})  # fmt: skip
    return out


async def main_async(args: argparse.Namespace) -> dict:
    embedder = open_embedder(EmbedConfig(cache_dir=ROOT / "data" / "models"))
    settings, store, router, embed_s = await build(args.rows, embedder)

    async def embed(texts: list[str]):
        return await asyncio.to_thread(embedder.embed_query, texts)

    matrix = MatrixSearch(router, embed, store, MatrixConfig(cache_entries=0))
    latency = await fan_out(router, embedder, args.queries)
    heavy = await fan_out(router, embedder, args.queries, k=200)
    in_domain = [q for q in LABELLED_QUERIES if q["roles"]]
    training, held_out = in_domain[0::2], in_domain[1::2]
    paraphrases = [{"query": PARAPHRASES[q["query"]], "roles": q["roles"], "source": q["query"]}
                   for q in training if q["query"] in PARAPHRASES]  # fmt: skip
    same = [{**q, "source": q["query"]} for q in training]
    sets = {"all in-domain": in_domain, "held-out half": held_out,
            "training half": training, "paraphrases of training": paraphrases}  # fmt: skip
    before = {name: await quality(matrix, qs, False) for name, qs in sets.items()}
    recorded_ids: dict[str, set] = {}
    recorded = await train(matrix, training, recorded_ids)
    after = {name: await quality(matrix, qs, True) for name, qs in sets.items()}
    id_level = {
        name: {"without": await recorded_at_1(matrix, qs, recorded_ids, False),
               "with": await recorded_at_1(matrix, qs, recorded_ids, True)}
        for name, qs in (("training queries", same), ("paraphrases", paraphrases))
    }  # fmt: skip
    flags = await confidence(matrix, list(LABELLED_QUERIES))
    ood = [f for f in flags if not f["in_domain"]]
    return {
        "rows": args.rows,
        "cores": 2,
        "embed_seconds": round(embed_s, 1),
        "targets": {"parallel_x_1": 1.6},
        "latency_p50_ms": latency,
        "latency_p50_ms_k200": heavy,
        "recorded_id_at_1": id_level,
        "quality_without_playbook": before,
        "quality_with_playbook": after,
        "records": recorded,
        "low_confidence_threshold": matrix.config.low_confidence_below,
        "out_of_domain_flagged": f"{sum(f['low_confidence'] for f in ood)}/{len(ood)}",
        "in_domain_flagged": f"{sum(f['low_confidence'] for f in flags if f['in_domain'])}/{len(flags) - len(ood)}",
        "confidence": flags,
    }


def print_table(result: dict) -> None:
    print(f"fan-out p50 (ms) over {result['rows']} profiles, 2 shards per corpus, in-process")
    for lat in (result["latency_p50_ms"], result["latency_p50_ms_k200"]):
        print(f" k={lat['k']}")
        for label in ("1 corpus", "3 corpora parallel", "3 corpora sequential"):
            print(f"  {label:<24} {lat[label]:>8.2f}")
        print(f"  parallel / 1 corpus   {lat['parallel_x_1']:>8.2f}x (target <= 1.6x)")
        print(f"  sequential / 1 corpus {lat['sequential_x_1']:>8.2f}x")
    print(
        f"\n{'query set':<26} {'n':>3} {'hit@1':>7} {'hit@10':>7} {'+pb hit@1':>10} {'+pb hit@10':>11}"
    )
    for name, b in result["quality_without_playbook"].items():
        a = result["quality_with_playbook"][name]
        print(
            f"{name:<26} {b['queries']:>3} {b['hit@1']:>7} {b['hit@10']:>7} {a['hit@1']:>10} {a['hit@10']:>11}"
        )
    print("\nrecorded id ranked first (ids recorded: correct-role ranks 4-6 of the plain search)")
    for name, v in result["recorded_id_at_1"].items():
        print(f"  {name:<24} without {v['without']:.3f}  with playbook {v['with']:.3f}")
    print(f"\nlow_confidence (best raw < {result['low_confidence_threshold']}): "
          f"out-of-domain {result['out_of_domain_flagged']}, in-domain {result['in_domain_flagged']}")  # fmt: skip
    for f in result["confidence"]:
        if not f["in_domain"]:
            print(f"  OOD {f['best_raw_score']:.3f} {f['low_confidence']!s:<5} {f['query']}")
    scores = sorted(f["best_raw_score"] for f in result["confidence"] if f["in_domain"])
    print(f"  in-domain best raw: min {scores[0]:.3f}, median {statistics.median(scores):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "matrix.json").write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)


if __name__ == "__main__":
    main()
