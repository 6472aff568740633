"""Evidence helpers: effect sizes, random-effects meta-analysis, NNT, cumulative rates and staging.

The meta-analysis is computed by statsmodels (:func:`statsmodels.stats.meta_analysis.combine_effects`,
with effect sizes from :func:`~statsmodels.stats.meta_analysis.effectsize_2proportions`), not by
hand-written formulas; this module only arranges inputs and outputs and adds the one correction
the DerSimonian-Laird estimator needs (see :func:`pool`). ``tests/test_evidence.py`` checks it
against a published meta-analysis (DerSimonian and Kacker 2007) to four decimals.

Conventions
-----------
* Ratios (odds ratio, risk ratio) are pooled on the log scale; :class:`Pooled` keeps the log-scale
  numbers and gives the ratio scale with :meth:`Pooled.ratio`.
* "Treatment" is the first arm (ketamine, esketamine, the intervention); "control" the second.
* Proportions are fractions between 0 and 1, not percentages, unless a name says ``pct``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects, effectsize_2proportions

#: Effect measures for two proportions, as statsmodels names them.
MEASURES = {"or": "odds-ratio", "rr": "risk-ratio", "rd": "diff"}
#: Estimators of the between-trial variance tau-squared, as statsmodels names them.
METHODS = {"dl": "dl", "pm": "iterated"}
METHOD_NAMES = {"dl": "DerSimonian-Laird", "pm": "Paule-Mandel"}


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled estimate (log scale for ratio measures)."""

    measure: str
    method: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    q: float
    i2: float
    tau2_truncated: bool = False

    @property
    def log_scale(self) -> bool:
        return self.measure in ("or", "rr")

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def ratio(self) -> tuple[float, float, float]:
        """(estimate, lower, upper) on the ratio scale; only for odds or risk ratios."""
        if not self.log_scale:
            raise ValueError(f"{self.measure!r} is not a ratio measure")
        return math.exp(self.estimate), math.exp(self.ci_low), math.exp(self.ci_high)


def log_ratio_from_ci(ratio: float, low: float, high: float, level: float = 0.95) -> tuple[float, float]:
    """Log ratio and its variance from a published ratio and its confidence interval.

    The standard error is the width of the interval on the log scale divided by 2 z; a published
    interval that is not symmetric on the log scale (rounding, adjusted models) gives an
    approximate standard error, which is why callers should keep counts where they exist.
    """
    if not 0 < low <= ratio <= high:
        raise ValueError(f"need 0 < low <= ratio <= high, got {low}, {ratio}, {high}")
    z = stats.norm.isf((1 - level) / 2)
    se = (math.log(high) - math.log(low)) / (2 * z)
    return math.log(ratio), se**2


def effect_sizes(events_t, n_t, events_c, n_c, measure: str = "or") -> tuple[np.ndarray, np.ndarray]:
    """Effect sizes and variances from arm-level counts (statsmodels ``effectsize_2proportions``).

    ``measure`` is ``"or"`` (log odds ratio), ``"rr"`` (log risk ratio) or ``"rd"`` (risk
    difference). A trial with a zero cell gets 0.5 added to every cell of that trial.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {sorted(MEASURES)}, got {measure!r}")
    arrays = [np.asarray(x, dtype=float) for x in (events_t, n_t, events_c, n_c)]
    et, nt, ec, nc = arrays
    if np.any(et > nt) or np.any(ec > nc) or np.any(np.concatenate(arrays) < 0):
        raise ValueError("events must lie between 0 and the number in the arm")
    zero = (et == 0) | (ec == 0) | (et == nt) | (ec == nc)
    if np.any(zero) and measure != "rd":
        et, ec = np.where(zero, et + 0.5, et), np.where(zero, ec + 0.5, ec)
        nt, nc = np.where(zero, nt + 1.0, nt), np.where(zero, nc + 1.0, nc)
    eff, var = effectsize_2proportions(et, nt, ec, nc, statistic=MEASURES[measure])
    return np.asarray(eff, dtype=float), np.asarray(var, dtype=float)


def pool(effects, variances, method: str = "dl", measure: str = "or", level: float = 0.95) -> Pooled:
    """Random-effects pooled estimate computed by statsmodels ``combine_effects``.

    ``method`` is ``"dl"`` (DerSimonian-Laird) or ``"pm"`` (Paule-Mandel, statsmodels'
    ``"iterated"``). statsmodels 0.15 does not truncate the DerSimonian-Laird tau-squared at zero;
    the estimator is defined as max(0, (Q - df)/C), so when statsmodels returns a negative value
    this function reports tau-squared = 0 and the fixed-effect result (which is what the
    random-effects model gives when tau-squared is 0), and sets ``tau2_truncated``.
    With one trial there is nothing to pool; the trial's own estimate is returned.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    eff = np.asarray(effects, dtype=float)
    var = np.asarray(variances, dtype=float)
    if eff.ndim != 1 or eff.shape != var.shape or len(eff) == 0:
        raise ValueError("effects and variances must be 1-D arrays of the same, non-zero length")
    if np.any(var <= 0) or not np.all(np.isfinite(eff)):
        raise ValueError("variances must be positive and effects finite")
    z = stats.norm.isf((1 - level) / 2)
    if len(eff) == 1:
        se = math.sqrt(var[0])
        return Pooled(measure, method, 1, float(eff[0]), se, float(eff[0] - z * se), float(eff[0] + z * se),
                      0.0, 0.0, float("nan"))
    with warnings.catch_warnings():
        # A negative DerSimonian-Laird tau-squared makes statsmodels take square roots of negative
        # variances (giving NaN) for the random-effects results it then discards below.
        warnings.simplefilter("ignore", RuntimeWarning)
        res = combine_effects(eff, var, method_re=METHODS[method], use_t=False, alpha=1 - level)
    tau2, estimate, se, truncated = float(res.tau2), float(res.mean_effect_re), float(res.sd_eff_w_re), False
    if tau2 < 0:
        tau2, estimate, se, truncated = 0.0, float(res.mean_effect_fe), float(res.sd_eff_w_fe), True
    q = float(res.q)
    df = len(eff) - 1
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return Pooled(measure, method, len(eff), estimate, se, estimate - z * se, estimate + z * se, tau2, q, i2, truncated)


def trial_effects(trials: pd.DataFrame, measure: str = "or") -> pd.DataFrame:
    """Per-trial effect sizes from a table like ``ketamine_24h_trials``.

    Rows with counts (``responders_drug``, ``n_drug``, ``responders_control``, ``n_control``) use
    :func:`effect_sizes`; rows that give only a published odds ratio (``odds_ratio``,
    ``or_ci_low``, ``or_ci_high``) use :func:`log_ratio_from_ci` (odds ratios only).
    Returns the table with columns ``yi`` (log scale for ratios), ``vi``, ``ci_low``, ``ci_high``.
    For a published odds ratio, ``ci_low``/``ci_high`` are the published limits (on the log scale);
    the variance used for pooling comes from the width of that interval.
    """
    out = trials.copy()
    yi, vi, published = [], [], []
    for row in trials.itertuples(index=False):
        counts = [getattr(row, c, None) for c in ("responders_drug", "n_drug", "responders_control", "n_control")]
        if all(c is not None and not pd.isna(c) for c in counts):
            e, v = effect_sizes(*[[int(c)] for c in counts], measure=measure)
            yi.append(float(e[0]))
            vi.append(float(v[0]))
            published.append(None)
        else:
            if measure != "or":
                raise ValueError(f"{row.trial}: only an odds ratio is published, so measure must be 'or'")
            e, v = log_ratio_from_ci(row.odds_ratio, row.or_ci_low, row.or_ci_high)
            yi.append(e)
            vi.append(v)
            published.append((math.log(row.or_ci_low), math.log(row.or_ci_high)))
    z = stats.norm.isf(0.025)
    out["yi"], out["vi"] = yi, vi
    out["ci_low"] = [y - z * math.sqrt(v) if p is None else p[0] for y, v, p in zip(yi, vi, published)]
    out["ci_high"] = [y + z * math.sqrt(v) if p is None else p[1] for y, v, p in zip(yi, vi, published)]
    return out


def pool_by(table: pd.DataFrame, by: str, method: str = "dl", measure: str = "or") -> dict[str, Pooled]:
    """Pool ``yi``/``vi`` (from :func:`trial_effects`) within each level of column ``by``, and overall."""
    result = {level: pool(group["yi"], group["vi"], method, measure) for level, group in table.groupby(by, sort=False)}
    result["all trials"] = pool(table["yi"], table["vi"], method, measure)
    return result


def nnt(p_treatment: float, p_control: float) -> float:
    """Number needed to treat: 1 / (p_treatment - p_control), proportions as fractions.

    Positive when the treatment arm has the higher rate of the outcome (benefit for a good outcome,
    harm -- a number needed to harm -- for a bad one). Round up with :func:`nnt_whole` to report it.
    """
    for p in (p_treatment, p_control):
        if not 0 <= p <= 1:
            raise ValueError(f"proportions must lie in [0, 1] (did you pass a percentage?), got {p}")
    difference = p_treatment - p_control
    if difference == 0:
        raise ZeroDivisionError("no difference between arms: the NNT is infinite")
    return 1 / difference


def nnt_whole(p_treatment: float, p_control: float) -> int:
    """The NNT rounded up to a whole person, as it is usually reported (8, not 7.2)."""
    value = nnt(p_treatment, p_control)
    if value < 0:
        raise ValueError("the control arm does better; report a number needed to harm instead")
    return math.ceil(round(value, 9))


def cumulative_remission(rates, continuing: float = 1.0) -> float:
    """Cumulative remission after successive treatment steps.

    With ``continuing = 1`` (the default) everyone who does not remit goes on to the next step and
    nobody drops out, and the result is 1 - product of (1 - rate): the assumption behind STAR*D's
    theoretical 67% (Rush et al. 2006). With ``continuing < 1`` only that fraction of those who did
    not remit enters each next step (the rest leave without remitting), an illustrative what-if.
    Rates and ``continuing`` are fractions.
    """
    rates = np.asarray(rates, dtype=float)
    if np.any((rates < 0) | (rates > 1)) or not 0 <= continuing <= 1:
        raise ValueError("rates and continuing must be fractions between 0 and 1")
    remitted, still_in = 0.0, 1.0
    for step, rate in enumerate(rates):
        if step > 0:
            still_in *= continuing
        remitted += still_in * rate
        still_in *= 1 - rate
    return float(remitted)


def ci_from_se(estimate: float, se: float, level: float = 0.95) -> tuple[float, float]:
    """A normal-approximation confidence interval from an estimate and its standard error."""
    z = stats.norm.isf((1 - level) / 2)
    return estimate - z * se, estimate + z * se


# --- staging -----------------------------------------------------------------------------------

SEVERITIES = ["subsyndromal", "mild", "moderate", "severe without psychosis", "severe with psychosis"]


@dataclass(frozen=True)
class StageScore:
    total: float
    band: str | None
    parts: dict


def _rows(table: pd.DataFrame, model: str, dimension: str) -> pd.DataFrame:
    rows = table[(table["model"] == model) & (table["dimension"] == dimension)]
    if rows.empty:
        raise LookupError(f"no {model} rows for {dimension!r} in the staging table")
    return rows


def _band_points(rows: pd.DataFrame, value: float) -> float:
    """Points of the first category whose inclusive upper bound is at least ``value`` (open-ended last)."""
    bounded = rows[rows["upper"].notna()].sort_values("upper")
    for row in bounded.itertuples():
        if value <= row.upper:
            return float(row.points)
    open_ended = rows[rows["upper"].isna()]
    if open_ended.empty:
        raise ValueError(f"{value} is above every category")
    return float(open_ended["points"].iloc[0])


def msm_score(table: pd.DataFrame, failed_antidepressants: int, duration_months: float, severity: str,
              augmentation: bool = False, ect: bool = False) -> StageScore:
    """Maudsley Staging Method score from the published rules in ``table`` (``trd_staging``).

    ``failed_antidepressants`` counts adequate antidepressant trials without response in the
    episode; ``duration_months`` is the length of the current episode; ``severity`` is one of
    :data:`SEVERITIES`. Returns the total (3 to 15), its band and the points per dimension.
    """
    if failed_antidepressants < 1:
        raise ValueError("the MSM scores treatment resistance: at least one failed antidepressant is needed")
    if duration_months < 0:
        raise ValueError("duration must be positive")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    sev = _rows(table, "MSM", "severity")
    parts = {
        "treatment failures": _band_points(_rows(table, "MSM", "antidepressant treatment failures"), failed_antidepressants),
        "augmentation": float(_rows(table, "MSM", "augmentation")["points"].iloc[0]) if augmentation else 0.0,
        "ECT": float(_rows(table, "MSM", "electroconvulsive therapy")["points"].iloc[0]) if ect else 0.0,
        "duration": _band_points(_rows(table, "MSM", "duration of the episode"), duration_months),
        "severity": float(sev.loc[sev["category"] == severity, "points"].iloc[0]),
    }
    total = sum(parts.values())
    bands = _rows(table, "MSM", "total score band").sort_values("upper")
    band = next(r.category for r in bands.itertuples() if total <= r.upper)
    return StageScore(total, band.split(" (")[0], parts)


def mghs_score(table: pd.DataFrame, failed_antidepressants: int, optimisations: int = 0,
               augmentations: int = 0, ect: bool = False) -> StageScore:
    """Massachusetts General Hospital Staging Method score (``trd_staging`` rows for MGH-s)."""
    if min(failed_antidepressants, optimisations, augmentations) < 0:
        raise ValueError("counts cannot be negative")
    per = {d: float(_rows(table, "MGH-s", d)["points"].iloc[0])
           for d in ("antidepressant treatment failures", "optimisation", "augmentation", "electroconvulsive therapy")}
    parts = {
        "treatment failures": failed_antidepressants * per["antidepressant treatment failures"],
        "optimisation": optimisations * per["optimisation"],
        "augmentation": augmentations * per["augmentation"],
        "ECT": per["electroconvulsive therapy"] if ect else 0.0,
    }
    return StageScore(sum(parts.values()), None, parts)
