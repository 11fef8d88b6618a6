"""Trends, the method: is a facet value's share of a window's articles unusually high against the days before?

The method (one facet value v; the window W is the day D, or the N days ending with D; the baseline B the 30 days
before W):

    x = articles of W that name v,   n = articles of W
    y = articles of B that name v,   m = articles of B
    p = (y + ½) / (m + 1)            v's share of the baseline, smoothed (add-½, the Jeffreys prior's mean)
    score = −log10 P(X ≥ x)  for X ~ Binomial(n, p)
    lift  = (x / n) / p

The score is the surprise of seeing at least x of the window's n articles name v if v were as frequent as in the
baseline: 2 means a 1-in-100 chance, 5 one in 100,000. This is the binomial model of a feature's document count in
a time window of Fung, Yu, Yu & Lu ("Parameter Free Bursty Events Detection in Text Streams", VLDB 2005), scored
by the exact upper tail of the binomial test. Counting articles (not mentions) against shares (not raw counts)
makes a busy day no more "trending" than a quiet one, and the score rises with x and falls with y, exactly (a
z-scored log odds ratio does not: with a zero cell it can fall as x rises). A value needs at least `min_count`
articles in the window (default 3: one or two articles are a story, not a trend, however new the name) and a
score of `min_score` (default 3, one chance in 1,000; a day tests a few thousand values, so lower thresholds
fill the list with chance). Without any baseline article p is ½: nothing is new against no history.

The counting (Elasticsearch aggregations) and the `<alias>-trends` index are in pipeline/index/trends.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

BASELINE_DAYS = 30
MIN_COUNT = 3
MIN_SCORE = 3.0
SMOOTHING = 0.5  # add-½ to the baseline count (the Jeffreys prior's posterior mean)
_NEGLIGIBLE = math.log(1e-17)  # a term this much smaller than the first changes no float sum
METHOD = "binomial-surprise"  # stored with every trend, so a later change of method is visible in Kibana


@dataclass(frozen=True, slots=True)
class Trend:
    """One facet value that rose: counts (articles) in the window and in the baseline, and its score."""

    facet: str
    value: str  # the canonical name shown
    key: str  # what was counted: the entity id, or the value itself for facets without ids (country)
    count: int  # articles of the window that name it
    articles: int  # articles of the window
    baseline_count: int  # articles of the baseline that name it
    baseline_articles: int  # articles of the baseline
    score: float  # −log10 of the chance of so many articles at the baseline's share (module docstring)
    lift: float  # the window's share over the baseline's (smoothed) share

    @property
    def share(self) -> float:
        """Fraction of the window's articles that name the value."""
        return self.count / self.articles if self.articles else 0.0

    @property
    def baseline_share(self) -> float:
        """Fraction of the baseline's articles that name the value."""
        return self.baseline_count / self.baseline_articles if self.baseline_articles else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (`newsetl trends --json`), with both shares."""
        return {**asdict(self), "share": round(self.share, 6), "baseline_share": round(self.baseline_share, 6)}


@dataclass(frozen=True, slots=True)
class TrendReport:
    """The trends of one window: per facet, the values that rose, highest score first."""

    day: date  # the window's last day
    window_days: int
    baseline_days: int
    articles: int
    baseline_articles: int
    trends: dict[str, list[Trend]]

    @property
    def window(self) -> tuple[date, date]:
        """[first day, day after the last) of the window."""
        return self.day - timedelta(days=self.window_days - 1), self.day + timedelta(days=1)

    @property
    def baseline(self) -> tuple[date, date]:
        """[first day, day after the last) of the baseline: the days just before the window."""
        start = self.window[0]
        return start - timedelta(days=self.baseline_days), start

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (`newsetl trends --json`)."""
        (w0, w1), (b0, b1) = self.window, self.baseline
        return {"day": self.day.isoformat(), "window_days": self.window_days, "window": [w0.isoformat(),
                                                                                        w1.isoformat()],
                "baseline": [b0.isoformat(), b1.isoformat()], "articles": self.articles,
                "baseline_articles": self.baseline_articles, "method": METHOD,
                "trends": {facet: [t.to_dict() for t in values] for facet, values in self.trends.items()}}


def burst_score(count: int, articles: int, baseline_count: int, baseline_articles: int) -> tuple[float, float]:
    """(score, lift) of `count` of `articles` against `baseline_count` of `baseline_articles` (module docstring):
    score = −log10 of the binomial upper tail P(X ≥ count), X ~ Binomial(articles, smoothed baseline share);
    lift = the window's share over that baseline share.

    Raises ValueError when a count exceeds its total or is negative.
    """
    if not (0 <= count <= articles and 0 <= baseline_count <= baseline_articles):
        raise ValueError(f"counts out of range: {count}/{articles} against {baseline_count}/{baseline_articles}")
    share = (baseline_count + SMOOTHING) / (baseline_articles + 2 * SMOOTHING)
    score = -log_binomial_tail(count, articles, share) / math.log(10)
    return max(score, 0.0), (count / articles) / share if articles else 0.0


def log_binomial_tail(k: int, n: int, p: float) -> float:
    """ln P(X ≥ k) for X ~ Binomial(n, p), 0 < p < 1, exact to float precision however far in the tail (the
    terms are summed in log space from the mode outwards, so 1e-400 does not underflow to 0)."""
    if k <= 0:
        return 0.0
    if k > n:
        return -math.inf
    if k > n * p:  # the upper tail's terms fall from k on: sum them upwards
        return _log_sum(range(k, n + 1), n, p)
    # Otherwise the tail holds most of the mass: 1 − P(X ≤ k − 1), whose terms fall from k − 1 downwards.
    return math.log1p(-math.exp(_log_sum(range(k - 1, -1, -1), n, p)))


def _log_sum(ks: Iterable[int], n: int, p: float) -> float:
    """ln Σ P(X = k) over `ks`, whose terms fall monotonically: stop once they no longer change the sum."""
    log_p, log_q, log_n = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    top = total = None
    for k in ks:
        term = log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q
        if top is None:
            top, total = term, 1.0
        elif term - top < _NEGLIGIBLE:
            break
        else:
            total += math.exp(term - top)
    return top + math.log(total) if top is not None else -math.inf


def rank_trends(facet: str, counts: dict[str, tuple[str, int]], baseline: dict[str, int], articles: int,
                baseline_articles: int, *, min_count: int = MIN_COUNT, min_score: float = MIN_SCORE,
                top: int = 10) -> list[Trend]:
    """The trending values of one facet, highest score first (ties: more articles, then name), at most `top`.

    `counts`: key -> (display name, articles of the window); `baseline`: key -> articles of the baseline (a key
    absent there counts 0). Values under `min_count` in the window or `min_score` are left out.
    """
    trends = []
    for key, (name, count) in counts.items():
        if count < min_count:
            continue
        score, lift = burst_score(count, articles, baseline.get(key, 0), baseline_articles)
        if score >= min_score:
            trends.append(Trend(facet, name, key, count, articles, baseline.get(key, 0), baseline_articles,
                                round(score, 3), round(lift, 3)))
    trends.sort(key=lambda t: (-t.score, -t.count, t.value))
    return trends[:top]
