"""Two-sample statistics for drift: centroid distance, a permutation MMD test, chi-square.

MMD (maximum mean discrepancy, Gretton et al. 2012) with a Gaussian kernel whose bandwidth
is the median pairwise distance of the pooled sample; its p-value comes from permutations
of the pooled sample's labels, so it is calibrated whatever the data's distribution:
``p = (1 + #{permuted >= observed}) / (1 + permutations)``. With 500 permutations the
smallest p is 1/501, well under 0.01.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TwoSample:
    """The result of a two-sample test."""

    statistic: float
    p_value: float
    permutations: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"statistic": self.statistic, "p_value": self.p_value,
                "permutations": self.permutations}  # fmt: skip


def centroid_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cosine similarity of the two samples' mean vectors."""
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    denom = float(np.linalg.norm(ca) * np.linalg.norm(cb))
    return 1.0 - float(ca @ cb) / denom if denom > 0 else 0.0


def mmd_test(a: np.ndarray, b: np.ndarray, permutations: int, seed: int) -> TwoSample:
    """Permutation test of MMD² (biased estimator) between the rows of ``a`` and ``b``."""
    pooled = np.vstack([a, b]).astype(np.float64)
    sq = np.sum(pooled**2, axis=1)
    dist2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * pooled @ pooled.T, 0.0)
    off_diag = dist2[np.triu_indices(len(pooled), k=1)]
    bandwidth2 = float(np.median(off_diag)) or 1.0
    kernel = np.exp(-dist2 / bandwidth2)
    labels = np.arange(len(pooled)) < len(a)
    observed = float(_mmd2(kernel, labels[None, :])[0])
    rng = np.random.default_rng(seed)
    permuted = np.stack([rng.permutation(labels) for _ in range(permutations)])
    exceed = int(np.sum(_mmd2(kernel, permuted) >= observed))
    return TwoSample(observed, (1 + exceed) / (1 + permutations), permutations)


def _mmd2(kernel: np.ndarray, in_a: np.ndarray) -> np.ndarray:
    # Biased MMD² for each row of labels at once: w^T K w with w = 1/n_a on a, -1/n_b on b.
    n_a = in_a.sum(axis=1, keepdims=True)
    w = np.where(in_a, 1.0 / n_a, -1.0 / (in_a.shape[1] - n_a))
    return np.einsum("pi,ij,pj->p", w, kernel, w, optimize=True)


def chi_square(a: Counter[str], b: Counter[str]) -> TwoSample | None:
    """Chi-square test of homogeneity of two category counts; None with < 2 categories."""
    categories = sorted(set(a) | set(b))
    if len(categories) < 2 or not sum(a.values()) or not sum(b.values()):
        return None
    table = np.array([[a[c] for c in categories], [b[c] for c in categories]], dtype=float)
    result = stats.chi2_contingency(table, correction=False)
    return TwoSample(float(result.statistic), float(result.pvalue))


def shares(counts: Counter[str]) -> dict[str, float]:
    """Each category's share of the total (empty when there are no counts)."""
    total = sum(counts.values())
    return {k: round(v / total, 6) for k, v in sorted(counts.items())} if total else {}
