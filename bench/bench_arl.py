"""In-control ARL0 (windows to a false alert) and detection delay of the theme CUSUMs, by Monte Carlo.

Runs the whole detector of pipeline.signals, vectorized over replicate series: the trailing baseline (p0 and
the Pearson phi re-estimated every window from the last 28 windows behind a 2-window guard band, phi clipped),
the sparse rule, and the two binomial CUSUMs. Window volumes are resampled from the daily article counts of
NewsArticles.csv (about 67 a day); hits are beta-binomial. Two ways to make them overdispersed:

- ``rho`` (default): each day's proportion is drawn from a Beta around p0 with one intra-day correlation,
  set so that phi equals the nominal value at the mean volume (busier days are then more overdispersed, as
  news cycles make them);
- ``phi``: the correlation is set per day so that every day has exactly the nominal phi (the model the
  Pearson estimate and the Markov-chain ARL0 of the explanations assume).

ARL0 is estimated from the time to the first false alert of each replicate (clock started once the baseline
is full, CUSUM at 0), censored at the horizon: total windows watched / alerts (the exponential MLE). Each
direction is measured on its own (an alert in the other direction is ignored). A last table runs
pipeline.signals.run_series itself over year-long series from scratch (start-up, resets, episodes and all) and
counts windows per false alert. The "markov" column is what
an Explanation would state for the same p0, phi and volumes (baseline known). ``--check K`` replays K
replicates through pipeline.signals.run_series and compares the CUSUM paths, to show the vectorized copy
here is the detector the service runs.

    python bench/bench_arl.py [--reps 2000] [--windows 2500] [--model rho|phi] [--set h=5.5] [--check 4]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# One BLAS thread: the arrays here are small, and oversubscribed threads on 2 cores cost more than they give.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from scipy import stats  # type: ignore[import-untyped]

from pipeline.signals import SignalSettings, WindowCount, run_series
from pipeline.signals.arl import arl0_cusum_mixture

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "news" / "newsarticles-2017" / "NewsArticles.csv"
_DATE = re.compile(r"\s*(\d{4})/(\d{1,2})/(\d{1,2})\s*")


def daily_volumes(path: Path) -> np.ndarray:
    """Articles per publish date (rows with a malformed date are skipped)."""
    csv.field_size_limit(1 << 30)
    days: Counter[tuple[str, ...]] = Counter()
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        for row in csv.DictReader(f):
            m = _DATE.fullmatch(row.get("publish_date") or "")
            if m:
                days[m.groups()] += 1
    return np.array(sorted(days.values()), dtype=np.int64)


def simulate(
    rng: np.random.Generator, vols: np.ndarray, p: np.ndarray, phi: float, model: str, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(x, n): volumes resampled from ``vols``; hits beta-binomial with mean p (broadcast over windows)."""
    n = rng.choice(vols, size=shape)
    p = np.broadcast_to(p, shape)
    if phi <= 1.0:
        return rng.binomial(n, p), n
    if model == "rho":
        rho = np.full(shape, (phi - 1.0) / (vols.mean() - 1.0))
    else:
        rho = np.where(n > 1, (phi - 1.0) / np.maximum(n - 1.0, 1.0), 0.5)
    scale = 1.0 / np.minimum(rho, 0.999) - 1.0
    day_p = rng.beta(p * scale, (1.0 - p) * scale)
    return rng.binomial(n, day_p), n


@dataclass
class Paths:
    alarm: dict[str, np.ndarray]  # first alarm window index per replicate (-1: none), per direction
    s: dict[str, np.ndarray]  # CUSUM after each window (for --check)


def detect(x: np.ndarray, n: np.ndarray, st: SignalSettings, start: int) -> Paths:
    """First alarm per direction of the pipeline's detector, over every row of (x, n), from window ``start``."""
    reps, horizon = x.shape
    B, D, g, sp = st.baseline_windows, st.dispersion_windows, st.guard_windows, st.sparse
    usable = n > 0
    xf, nf = np.where(usable, x, 0).astype(float), n.astype(float)

    def csum(a: np.ndarray) -> np.ndarray:
        out = np.zeros((reps, horizon + 1))
        np.cumsum(a, axis=1, out=out[:, 1:])
        return out

    cx, cn, ck, cn2 = csum(xf), csum(nf), csum(usable.astype(float)), csum(nf * nf)
    cq = csum(np.where(usable, xf * xf / np.maximum(nf, 1.0), 0.0))
    s = {"rise": np.zeros(reps), "fall": np.zeros(reps)}
    alarm = {d: np.full(reps, -1) for d in s}
    trace = {d: np.full((reps, horizon), np.nan) for d in s}
    ratio = {"rise": st.rise_ratio, "fall": st.fall_ratio}
    for t in range(start, horizon):
        hi = t - g
        if hi <= 0:
            continue
        # Before the first alarm there are no episodes, and every simulated window has n > 0: the baseline is
        # the last B windows before the guard band, the dispersion the last D.
        lo, lo_d = max(0, hi - B), max(0, hi - D)
        hits, total, k = cx[:, hi] - cx[:, lo], cn[:, hi] - cn[:, lo], ck[:, hi] - ck[:, lo]
        h_d, n_d, k_d = cx[:, hi] - cx[:, lo_d], cn[:, hi] - cn[:, lo_d], ck[:, hi] - ck[:, lo_d]
        q_d, n2_d = cq[:, hi] - cq[:, lo_d], cn2[:, hi] - cn2[:, lo_d]
        with np.errstate(divide="ignore", invalid="ignore"):
            p0 = np.where(total > 0, hits / total, 0.0)
            p_d = h_d / n_d
            defined = (k_d >= 2) & (p_d > 0) & (p_d < 1)
            chi2 = (q_d - 2 * p_d * h_d + p_d * p_d * n_d) / (p_d * (1 - p_d))
            denom = (n_d - k_d) - (n2_d - n_d) / n_d
            rho = np.where(defined & (denom > 0), np.maximum((chi2 - (k_d - 1)) / denom, 0.0), 0.0)
            pearson = np.where(defined, chi2 / np.maximum(k_d - 1, 1), 1.0)
        xt, nt = xf[:, t], nf[:, t]
        raw_phi = 1.0 + np.maximum(nt - 1.0, 0.0) * rho if st.dispersion_model == "volume" else pearson
        phi = np.clip(raw_phi, st.phi_min, st.phi_max)
        sufficient = k >= st.min_baseline_windows
        sparse = (hits < sp.min_baseline_hits) | ((k > 0) & (hits / np.maximum(k, 1) < sp.expected_hits))
        cusum = sufficient & ~sparse
        for d in ("rise", "fall"):
            pc = np.clip(p0, 1e-9, 1 - 1e-9)
            r = ratio[d]
            p1 = np.minimum(r * pc, 1.0 - (1.0 - pc) / r) if r > 1 else r * pc
            p1 = np.clip(p1, 1e-9, 1 - 1e-9)
            b = np.log((1.0 - p1) / (1.0 - pc))
            a = np.log(p1 / pc) - b
            z = (a * xt + b * nt) / phi
            s[d] = np.where(cusum, np.maximum(0.0, s[d] + z), np.where(sufficient & sparse, 0.0, s[d]))
            fired = cusum & (s[d] >= st.h)  # a fresh array: the sparse rule may add to it
            if d == "rise":  # the sparse rule; the distinct-source condition is taken as met (conservative)
                floor = (hits + sp.pseudo_count) / (total + 2 * sp.pseudo_count)
                cand = np.flatnonzero(sufficient & sparse & (xt >= sp.min_hits))  # the few windows worth a tail
                if cand.size:
                    tail = upper_tail(xt[cand], nt[cand], floor[cand], phi[cand])
                    fired[cand[tail < sp.p_value]] = True
            new = fired & (alarm[d] < 0)
            alarm[d][new] = t
            trace[d][:, t] = s[d]
    return Paths(alarm=alarm, s=trace)


def markov_arl0(p0: float, phi: float, vols: np.ndarray, model: str, st: SignalSettings, ratio: float) -> float:
    """What an Explanation would state with the true p0 and dispersion (the model generating the data)."""
    if model == "rho":
        rho = (phi - 1.0) / (vols.mean() - 1.0)
        pairs = [(int(v), float(np.clip(1.0 + (v - 1) * rho, st.phi_min, st.phi_max))) for v in vols]
    else:
        pairs = [(int(v), phi) for v in vols]
    return arl0_cusum_mixture(p0, pairs, st.h, ratio)


def upper_tail(x: np.ndarray, n: np.ndarray, p: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """P(X >= x), vectorized as pipeline.signals.stats.upper_tail computes it."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    rho = np.minimum((phi - 1.0) / np.maximum(n - 1.0, 1.0), 0.999)
    over = (phi > 1.0) & (n >= 2)
    scale = np.where(over, 1.0 / np.where(over, rho, 0.5) - 1.0, 1.0)
    with np.errstate(all="ignore"):
        bb = stats.betabinom.sf(x - 1, n, p * scale, (1.0 - p) * scale)
    tail = np.where(over, bb, stats.binom.sf(x - 1, n, p))
    return np.where(x <= 0, 1.0, np.where(x > n, 0.0, tail))


def arl_estimate(alarm: np.ndarray, start: int, horizon: int) -> tuple[float, int]:
    """(ARL0 estimate, alerts seen): windows watched over alerts, censored at the horizon."""
    fired = alarm >= 0
    watched = np.where(fired, alarm - start + 1, horizon - start).sum()
    count = int(fired.sum())
    return (float(watched) / count if count else float("inf")), count


def check_against_service(rng: np.random.Generator, vols: np.ndarray, st: SignalSettings, k: int) -> str:
    """Replay k replicates through run_series and compare CUSUM paths up to the first alert of either side."""
    t0 = datetime(2017, 1, 1, tzinfo=UTC)
    worst, compared = 0.0, 0
    for p0, phi in ((0.03, 1.5), (0.1, 2.0), (0.01, 1.0)):
        x, n = simulate(rng, vols, np.array(p0), phi, "rho", (k, 200))
        paths = detect(x, n, st, start=0)
        for r in range(k):
            counts = [
                WindowCount("t", t0 + timedelta(days=i), t0 + timedelta(days=i + 1), int(xi), int(ni), int(xi))
                for i, (xi, ni) in enumerate(zip(x[r], n[r], strict=True))
            ]
            ds = run_series(counts, st)
            first = min([a for a in (paths.alarm["rise"][r], paths.alarm["fall"][r]) if a >= 0], default=200)
            for d in ds:
                i = (d.window_start - t0).days
                if i > first or d.method != "cusum":
                    continue
                worst = max(worst, abs(d.s - paths.s[d.direction][r, i]))
                compared += 1
            svc = {
                dd: [(x.window_start - t0).days for x in ds if x.level == "alert" and x.direction == dd]
                for dd in ("rise", "fall")
            }
            for dd in ("rise", "fall"):
                mine = paths.alarm[dd][r]
                if mine >= 0 and mine <= first and (not svc[dd] or svc[dd][0] != mine):
                    return f"MISMATCH: replicate {r} {dd}: bench alarm {mine}, service {svc[dd][:1]}"
    return f"check: {compared} CUSUM values compared with run_series, largest difference {worst:.2e}"


def service_renewal(
    rng: np.random.Generator, vols: np.ndarray, st: SignalSettings, model: str, p0: float, phi: float, series: int
) -> dict[str, float]:
    """Windows per false alert of run_series itself over year-long series from scratch (ARL0 with restarts).

    Unlike the first-alarm figures this includes the start-up (short baselines), resets, episodes and the
    exclusion of a false alert's windows from later baselines.
    """
    t0 = datetime(2017, 1, 1, tzinfo=UTC)
    x, n = simulate(rng, vols, np.array(p0), phi, model, (series, 365))
    alerts = {"rise": 0, "fall": 0}
    watched = 0
    for r in range(series):
        counts = [
            WindowCount("t", t0 + timedelta(days=i), t0 + timedelta(days=i + 1), int(xi), int(ni), int(xi))
            for i, (xi, ni) in enumerate(zip(x[r], n[r], strict=True))
        ]
        for d in run_series(counts, st):
            alerts[d.direction] += d.level == "alert"
            watched += d.direction == "rise" and d.method != "none"
    return {d: watched / a if a else float("inf") for d, a in alerts.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2000, help="replicate series per cell")
    ap.add_argument("--windows", type=int, default=2500, help="windows watched per replicate (horizon)")
    ap.add_argument("--model", choices=("rho", "phi"), default="rho")
    ap.add_argument("--seed", type=int, default=20180208)
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a SignalSettings field, e.g. --set h=5.5 --set sparse.p_value=1e-6",
    )
    ap.add_argument("--check", type=int, default=0, help="replicates replayed through run_series (0: none)")
    ap.add_argument("--service-series", type=int, default=60, help="year-long series run through run_series")
    ap.add_argument("--volumes", type=Path, default=DATA, help="NewsArticles.csv (daily volumes)")
    args = ap.parse_args(argv)
    overrides: dict[str, Any] = {}
    for item in args.set:  # dotted keys reach nested settings: sparse.p_value=1e-6
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    st = SignalSettings.model_validate(overrides)  # strings are coerced by pydantic (lax mode)
    if not args.volumes.exists():
        print(f"bench_arl: volume data not found at {args.volumes}", file=sys.stderr)
        return 2
    vols = daily_volumes(args.volumes)
    rng = np.random.default_rng(args.seed)
    began = time.perf_counter()
    print(
        f"daily volumes: {len(vols)} days, mean {vols.mean():.1f}, median {np.median(vols):.0f}, "
        f"range {vols.min()}-{vols.max()}; model {args.model}; h={st.h}, watch={st.watch}, "
        f"rise x{st.rise_ratio}, fall x{st.fall_ratio}, baseline {st.baseline_windows}+{st.guard_windows} guard"
    )
    if args.check:
        print(check_against_service(rng, vols, st, args.check))
    start = max(st.baseline_windows, st.dispersion_windows) + st.guard_windows
    horizon = start + args.windows
    print(
        f"{'p0':>5} {'phi':>4} | {'ARL0 rise':>10} {'markov':>8} {'<365d':>6} | {'ARL0 fall':>10} {'markov':>8} "
        f"{'<365d':>6} | {'delay x2':>8} {'delay /2':>8}"
    )
    worst = float("inf")
    for p0 in (0.01, 0.03, 0.1):
        for phi in (1.0, 1.5, 2.0):
            x, n = simulate(rng, vols, np.array(p0), phi, args.model, (args.reps, horizon))
            paths = detect(x, n, st, start)
            cells = []
            for d, r in (("rise", st.rise_ratio), ("fall", st.fall_ratio)):
                arl, _ = arl_estimate(paths.alarm[d], start, horizon)
                worst = min(worst, arl)
                within = float(np.mean((paths.alarm[d] >= 0) & (paths.alarm[d] - start < 365)))
                markov = markov_arl0(p0, phi, vols, args.model, st, r)
                cells.append(f"{arl:>10.0f} {markov:>8.0f} {within:>6.1%}")
            delays = []
            for r in (st.rise_ratio, st.fall_ratio):  # the shift starts when the clock starts
                shifted = np.where(np.arange(start + 150) >= start, r * p0, p0)
                xs, ns = simulate(rng, vols, shifted, phi, args.model, (args.reps // 2, start + 150))
                sp = detect(xs, ns, st, start)
                a = sp.alarm["rise" if r > 1 else "fall"]
                median = float(np.median(np.where(a >= 0, a - start + 1, 10**6)))
                delays.append(f"{median:>8.0f}" if median <= 150 else f"{'>150':>8}")
            print(f"{p0:>5} {phi:>4} | {cells[0]} | {cells[1]} | {delays[0]} {delays[1]}")
    if args.service_series:
        print(f"run_series itself, {args.service_series} series of 365 windows from scratch (windows per alert):")
        for p0, phi in ((0.03, 1.5), (0.1, 2.0)):
            got = service_renewal(rng, vols, st, args.model, p0, phi, args.service_series)
            worst = min(worst, *got.values())
            print(f"{p0:>5} {phi:>4} | rise {got['rise']:>6.0f} | fall {got['fall']:>6.0f}")
    took = time.perf_counter() - began
    print(
        f"smallest ARL0: {worst:.0f} windows (target >= 365); <365d: share of series with a false alert "
        f"within 365 windows; delay: median windows from the shift to the alert, shift from window 1; "
        f"{took:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
