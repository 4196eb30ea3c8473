"""The deterministic worker-profile generator.

Rows come in fixed chunks, each from its own seeded generator, so row ``i`` is the same
whatever the total: ``generate(1000)`` is a prefix of ``generate(500_000)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from lakehouse.staffing.roles import CITIES, FIRST_NAMES, LANGUAGES, LAST_NAMES, ROLES, SHIFTS

CHUNK_ROWS = 50_000
COLUMNS = (
    "worker_id", "first_name", "last_name", "role", "city", "state", "phone", "email",
    "skills", "certifications", "years_experience", "shift", "languages",
    "reliability_score", "rating", "hourly_rate", "available", "resume",
)  # fmt: skip


def generate_batches(rows: int, seed: int = 7) -> Iterator[pa.RecordBatch]:
    """Yield ``rows`` worker profiles as Arrow batches of at most ``CHUNK_ROWS``."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    for start in range(0, rows, CHUNK_ROWS):
        yield _chunk(start, min(CHUNK_ROWS, rows - start), seed)


def write_csv(path: Path, rows: int, seed: int = 7) -> int:
    """Write ``rows`` profiles as an RFC 4180 CSV (resumes span lines, quoted)."""
    written = 0
    with pacsv.CSVWriter(str(path), _SCHEMA) as writer:
        for batch in generate_batches(rows, seed):
            writer.write_batch(batch)
            written += batch.num_rows
    if written == 0:  # a header-only file still names the columns
        pacsv.write_csv(_SCHEMA.empty_table(), str(path))
    return written


def _chunk(start: int, n: int, seed: int) -> pa.RecordBatch:
    # Draw a full chunk whatever n is, so a shorter run is an exact prefix of a longer one.
    rng = np.random.default_rng([seed, start // CHUNK_ROWS])
    n_draw = CHUNK_ROWS
    ids = np.arange(start, start + n)
    role_ix = rng.integers(0, len(ROLES), n_draw)
    first = rng.integers(0, len(FIRST_NAMES), n_draw)
    last = rng.integers(0, len(LAST_NAMES), n_draw)
    city = rng.integers(0, len(CITIES), n_draw)
    years = np.minimum(rng.gamma(2.0, 3.0, n_draw).astype(np.int64), 40)
    shift = rng.integers(0, len(SHIFTS), n_draw)
    reliability = np.round(rng.beta(8, 2, n_draw), 3)
    rating = np.round(np.clip(rng.normal(4.0, 0.6, n_draw), 1, 5), 1)
    available = rng.random(n_draw) < 0.7
    lang2 = rng.integers(0, len(LANGUAGES), n_draw)
    has_lang2 = rng.random(n_draw) < 0.35
    skill_pick = rng.random((n_draw, 5))
    cert_pick = rng.random((n_draw, 3))
    duty = rng.integers(0, 2, n_draw)
    rate_u = rng.random(n_draw)
    phone = rng.integers(2_000_000_000, 9_999_999_999, n_draw)

    cols: dict[str, list] = {c: [] for c in COLUMNS}
    for i in range(n):
        role = ROLES[role_ix[i]]
        fn, ln = FIRST_NAMES[first[i]], LAST_NAMES[last[i]]
        c, st = CITIES[city[i]]
        skills = [s for s, u in zip(role.skills, skill_pick[i], strict=False) if u < 0.7] or [
            role.skills[0]
        ]
        certs = [s for s, u in zip(role.certs, cert_pick[i], strict=False) if u < 0.6]
        langs = ["English"] + ([LANGUAGES[lang2[i]]] if has_lang2[i] and lang2[i] else [])
        lo, hi = role.rate
        p = str(phone[i])
        wid = f"W{ids[i]:07d}"
        _append(cols, wid, fn, ln, role.title, c, st, f"({p[:3]}) {p[3:6]}-{p[6:]}",
                f"{fn.lower()}.{ln.lower()}{ids[i]}@example.com", skills, certs, int(years[i]),
                SHIFTS[shift[i]], langs, float(reliability[i]), float(rating[i]),
                round(lo + (hi - lo) * rate_u[i] + 0.4 * years[i], 2), bool(available[i]),
                role.duties[duty[i]])  # fmt: skip
    return pa.RecordBatch.from_pydict(cols, schema=_SCHEMA)


def _append(cols, wid, fn, ln, title, city, state, phone, email, skills, certs, years, shift,
            langs, reliability, rating, rate, available, duty) -> None:  # fmt: skip
    resume = (
        f"{fn} {ln} - {title}\n"
        f"{years} years of experience, based in {city}, {state}; prefers {shift} shifts.\n"
        f"Skills: {', '.join(skills)}.\n"
        f"Certifications: {', '.join(certs) if certs else 'none listed'}.\n"
        f"Experience: {duty}."
    )
    for name, value in zip(COLUMNS, (
        wid, fn, ln, title, city, state, phone, email, ";".join(skills), ";".join(certs),
        years, shift, ";".join(langs), reliability, rating, rate, available, resume,
    ), strict=True):  # fmt: skip
        cols[name].append(value)


_SCHEMA = pa.schema(
    [
        ("worker_id", pa.string()), ("first_name", pa.string()), ("last_name", pa.string()),
        ("role", pa.string()), ("city", pa.string()), ("state", pa.string()),
        ("phone", pa.string()), ("email", pa.string()), ("skills", pa.string()),
        ("certifications", pa.string()), ("years_experience", pa.int64()),
        ("shift", pa.string()), ("languages", pa.string()), ("reliability_score", pa.float64()),
        ("rating", pa.float64()), ("hourly_rate", pa.float64()), ("available", pa.bool_()),
        ("resume", pa.string()),
    ]
)  # fmt: skip
