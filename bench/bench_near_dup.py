"""Near-duplicate figures on real news: speed, false merges, recall on syndicated copies.

Run: ``python bench/bench_near_dup.py [path/to/NewsArticles.csv]`` (default: the shared test data beside
the repository).  Prints per-article signature time, the similarity of distinct articles, the pairs
the LSH index would merge, and recall on synthetic syndicated copies.
"""

from __future__ import annotations

import csv
import itertools
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from pipeline.normalize.near_dup import band_keys, is_near_duplicate, shingles, signature, similarity
from pipeline.normalize.settings import NormalizeSettings
from pipeline.normalize.text import html_to_text

DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared/data/news/newsarticles-2017/NewsArticles.csv"
BOILERPLATE = (
    "(c) APA 2017. All rights reserved. This report may not be published, broadcast, rewritten or "
    "redistributed without permission. Follow us on Twitter and Facebook for the latest news."
)


def syndicated_copy(title: str, text: str, rng: random.Random, *, truncate: float = 1.0) -> tuple[str, str]:
    """A republished copy: new headline, byline, one sentence added, boilerplate appended, optionally cut."""
    sentences = text.split(". ")
    sentences = sentences[: max(1, int(len(sentences) * truncate))]
    at = rng.randrange(len(sentences) + 1)
    sentences.insert(at, "A spokesman for the agency said further details were expected later in the day")
    body = "By Anna Huber, APA correspondent\n" + ". ".join(sentences) + "\n" + BOILERPLATE
    return f"APA: {' '.join(title.split()[::-1])}", body


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    cfg = NormalizeSettings()
    with path.open(encoding="utf-8", errors="replace", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["text"].strip()]
    docs = [(html_to_text(r["title"]), html_to_text(r["text"])) for r in rows]
    texts = [f"{t}\n{x}" for t, x in docs]
    words = statistics.median(len(t.split()) for t in texts)

    start = time.perf_counter()
    sigs = [signature(t) for t in texts]
    per_article = (time.perf_counter() - start) / len(texts) * 1000
    start = time.perf_counter()
    keys = [band_keys(s) for s in sigs]
    per_keys = (time.perf_counter() - start) / len(texts) * 1000
    print(
        f"articles: {len(texts)} (median {words:.0f} words); signature {per_article:.3f} ms/article, "
        f"band keys {per_keys:.3f} ms/article; {cfg.num_perm} perms, {cfg.bands} bands x "
        f"{cfg.num_perm // cfg.bands} rows, shingle {cfg.shingle_size}, threshold {cfg.near_dup_threshold}"
    )
    print(f"too short for a signature: {sum(1 for s in sigs if not s)}")

    # All candidate pairs through the band index, as storage would find them.
    index: dict[str, list[int]] = defaultdict(list)
    for i, ks in enumerate(keys):
        for k in ks:
            index[k].append(i)
    candidates = {pair for ids in index.values() for pair in itertools.combinations(sorted(set(ids)), 2)}
    merged = [(i, j) for i, j in candidates if is_near_duplicate(sigs[i], sigs[j], cfg.near_dup_threshold)]
    print(f"candidate pairs: {len(candidates)}; merged pairs: {len(merged)}")
    sets = [shingles(t) for t in texts]
    for i, j in sorted(merged, key=lambda p: -similarity(sigs[p[0]], sigs[p[1]])):
        print(
            f"  est {similarity(sigs[i], sigs[j]):.2f} exact {jaccard(sets[i], sets[j]):.2f}  "
            f"{rows[i]['article_source_link'][:45]} | {rows[j]['article_source_link'][:45]}"
        )

    rng = random.Random(7)
    pairs = [tuple(rng.sample(range(len(texts)), 2)) for _ in range(100_000)]
    scored = [(similarity(sigs[i], sigs[j]), i, j) for i, j in pairs if sigs[i] and sigs[j]]
    est = sorted(e for e, _, _ in scored)
    merged_random = [(i, j) for e, i, j in scored if e >= cfg.near_dup_threshold]
    false = sum(1 for i, j in merged_random if jaccard(sets[i], sets[j]) < 0.3)
    print(
        f"random pairs: {len(est)}, estimated similarity p99.9 {est[int(len(est) * 0.999)]:.3f}; "
        f"merged {len(merged_random)}, of which false merges (exact Jaccard < 0.3): {false}"
    )

    for truncate in (1.0, 0.7, 0.5):
        hits = cand = total = 0
        exact: list[float] = []
        for i, (title, text) in enumerate(docs):
            if not sigs[i]:
                continue
            ct, cx = syndicated_copy(title, text, rng, truncate=truncate)
            copy_sig = signature(f"{ct}\n{cx}")
            total += 1
            exact.append(jaccard(sets[i], shingles(f"{ct}\n{cx}")))
            cand += bool(set(keys[i]) & set(band_keys(copy_sig)))
            hits += bool(set(keys[i]) & set(band_keys(copy_sig))) and is_near_duplicate(sigs[i], copy_sig)
        exact.sort()
        print(
            f"syndicated copies (kept {truncate:.0%} of sentences): {total}, exact Jaccard median "
            f"{exact[len(exact) // 2]:.2f} p5 {exact[len(exact) // 20]:.2f}; candidate {cand / total:.3f}, "
            f"recall {hits / total:.3f}"
        )


if __name__ == "__main__":
    main()
