"""Compartmental pharmacokinetic models, solved with scipy.

A mammillary model: a central compartment (1, plasma, volume ``V1``) exchanging drug
with up to two peripheral compartments (2 and 3) and eliminating it from the
central compartment, all first-order:

    dA1/dt = input(t) - (k10 + k12 + k13) A1 + k21 A2 + k31 A3
    dA2/dt = k12 A1 - k21 A2
    dA3/dt = k13 A1 - k31 A3

Extravascular routes (oral, intranasal, sublingual, intramuscular) add a depot that
empties into the central compartment at rate ``ka``, and only a fraction ``F``
(the bioavailability) of the dose reaches it.

Amounts are in mg, volumes in L, time in minutes, so ``A1 / V1`` is in mg/L, which
equals micrograms per mL; concentrations are reported in ng/mL (x 1000).

The functions here are deliberately small: a chapter builds a model from a sourced
parameter table (:func:`model_from_table`), simulates a dose (:func:`simulate`) and
summarises it (:func:`exposure`), and every step can be checked against a
closed-form answer in the unit tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.linalg import expm

MINUTES_PER_HOUR = 60.0
NG_PER_ML_PER_MG_PER_L = 1000.0


@dataclass(frozen=True)
class CompartmentModel:
    """Micro-constant parameters of a 1-, 2- or 3-compartment mammillary model.

    ``v1`` in L; rate constants in 1/min. Set ``k12 = k21 = 0`` (and ``k13 = k31 = 0``)
    for fewer compartments.
    """

    v1: float
    k10: float
    k12: float = 0.0
    k21: float = 0.0
    k13: float = 0.0
    k31: float = 0.0
    name: str = ""

    def __post_init__(self):
        if not self.v1 > 0:
            raise ValueError(f"v1 must be positive, got {self.v1}")
        for field in ("k10", "k12", "k21", "k13", "k31"):
            value = getattr(self, field)
            if value < 0 or not np.isfinite(value):
                raise ValueError(f"{field} must be a finite non-negative rate, got {value}")
        if (self.k12 > 0) != (self.k21 > 0) or (self.k13 > 0) != (self.k31 > 0):
            raise ValueError("a peripheral compartment needs both its in- and out-rate (k12 with k21, k13 with k31)")

    @property
    def clearance(self) -> float:
        """Elimination clearance CL = V1 * k10, in L/min."""
        return self.v1 * self.k10

    @property
    def volumes(self) -> tuple[float, float, float]:
        """V1, V2, V3 in L (V2 = V1 k12/k21, V3 = V1 k13/k31; 0 when absent)."""
        v2 = self.v1 * self.k12 / self.k21 if self.k21 else 0.0
        v3 = self.v1 * self.k13 / self.k31 if self.k31 else 0.0
        return self.v1, v2, v3

    def rate_matrix(self) -> np.ndarray:
        """The 3x3 matrix K with dA/dt = K A (no input)."""
        return np.array(
            [
                [-(self.k10 + self.k12 + self.k13), self.k21, self.k31],
                [self.k12, -self.k21, 0.0],
                [self.k13, 0.0, -self.k31],
            ]
        )

    def half_lives_minutes(self) -> np.ndarray:
        """Half-lives of the exponential phases (ln 2 / eigenvalue), shortest first."""
        rates = -np.linalg.eigvals(self.rate_matrix()).real
        rates = np.sort(rates[rates > 1e-12])[::-1]
        return np.log(2) / rates


@dataclass(frozen=True)
class Dose:
    """A dose: ``amount_mg`` given by ``route``.

    ``route="iv"``: infused at a constant rate over ``duration_min`` (0 = bolus).
    Any other route: absorbed from a depot with first-order rate ``ka`` (1/min) and
    bioavailability ``bioavailability`` (fraction 0-1).
    """

    amount_mg: float
    route: str = "iv"
    duration_min: float = 0.0
    ka: float | None = None
    bioavailability: float = 1.0

    def __post_init__(self):
        if not self.amount_mg > 0:
            raise ValueError(f"dose must be positive, got {self.amount_mg} mg")
        if self.duration_min < 0:
            raise ValueError(f"infusion duration must not be negative, got {self.duration_min} min")
        if not 0 < self.bioavailability <= 1:
            raise ValueError(f"bioavailability must be a fraction in (0, 1], got {self.bioavailability}")
        if self.route != "iv" and not (self.ka and self.ka > 0):
            raise ValueError(f"route {self.route!r} needs a positive absorption rate ka (1/min)")


REFERENCE_MODEL = "simons2022_sketamine"
"""The parameter set the book uses for intravenous ketamine (rows of ``ketamine_pk_parameters``)."""

ALLOMETRIC_CLEARANCE_EXPONENT = 0.75
ALLOMETRIC_VOLUME_EXPONENT = 1.0
REFERENCE_WEIGHT_KG = 70.0


def model_from_table(table: pd.DataFrame, model: str, weight_kg: float) -> CompartmentModel:
    """Build a model from rows of the ``ketamine_pk_parameters`` table.

    Two parameterisations are understood:

    * micro-constants: ``V1`` (``L/kg``, scaled by ``weight_kg``, or ``L``) and ``k10``,
      ``k12``, ``k21``, ``k13``, ``k31`` in ``1/min``;
    * clearances and volumes of a population model, given for a 70 kg adult:
      ``V1``, ``V2``, ``V3`` in ``L`` and ``CL``, ``Q2``, ``Q3`` in ``L/min`` or ``L/h``.
      They are scaled to ``weight_kg`` allometrically (volumes by (weight/70)^1,
      clearances by (weight/70)^0.75), then converted to micro-constants.
    """
    if not weight_kg > 0:
        raise ValueError(f"weight must be positive, got {weight_kg} kg")
    rows = table[table["model"] == model]
    if rows.empty:
        raise KeyError(f"no parameters for model {model!r}; known: {sorted(table['model'].unique())}")
    names = set(rows["parameter"])
    if "CL" in names:
        return _model_from_clearances(rows, model, weight_kg)
    values = {}
    for _, row in rows.iterrows():
        name, unit, value = row["parameter"], row["unit"], float(row["value"])
        if name == "V1":
            if unit == "L/kg":
                value *= weight_kg
            elif unit != "L":
                raise ValueError(f"V1 unit {unit!r} not understood (use L/kg or L)")
        elif unit != "1/min":
            raise ValueError(f"{name} unit {unit!r} not understood (use 1/min)")
        values[name.lower()] = value
    missing = {"v1", "k10"} - set(values)
    if missing:
        raise KeyError(f"model {model!r} lacks {sorted(missing)}")
    return CompartmentModel(name=model, **values)


def _model_from_clearances(rows: pd.DataFrame, model: str, weight_kg: float) -> CompartmentModel:
    size = weight_kg / REFERENCE_WEIGHT_KG
    values = {}
    for _, row in rows.iterrows():
        name, unit, value = row["parameter"], row["unit"], float(row["value"])
        if name in ("V1", "V2", "V3"):
            if unit != "L":
                raise ValueError(f"{name} unit {unit!r} not understood (use L, for a 70 kg adult)")
            values[name] = value * size**ALLOMETRIC_VOLUME_EXPONENT
        elif name in ("CL", "Q2", "Q3"):
            per_min = {"L/min": 1.0, "L/h": 1.0 / MINUTES_PER_HOUR}.get(unit)
            if per_min is None:
                raise ValueError(f"{name} unit {unit!r} not understood (use L/min or L/h)")
            values[name] = value * per_min * size**ALLOMETRIC_CLEARANCE_EXPONENT
        else:
            raise ValueError(f"parameter {name!r} not understood in a clearance parameterisation")
    missing = {"V1", "CL"} - set(values)
    if missing:
        raise KeyError(f"model {model!r} lacks {sorted(missing)}")
    v1 = values["V1"]
    micro = {"k10": values["CL"] / v1}
    for q, v, into, back in (("Q2", "V2", "k12", "k21"), ("Q3", "V3", "k13", "k31")):
        if q in values or v in values:
            if not (q in values and v in values):
                raise KeyError(f"model {model!r} needs both {q} and {v}")
            micro[into] = values[q] / v1
            micro[back] = values[q] / values[v]
    return CompartmentModel(name=model, v1=v1, **micro)


def reference_model(weight_kg: float = 70.0, table: pd.DataFrame | None = None) -> CompartmentModel:
    """The model the book uses for intravenous ketamine, for an adult of ``weight_kg``.

    Other chapters call this rather than naming a parameter set, so that a change of
    reference model reaches every chapter. The set is ``REFERENCE_MODEL`` in
    ``data/ketamine_pk_parameters.csv`` (a published population model; see that table's
    ``source`` and ``locator`` columns).
    """
    if table is None:
        from .data import load_table

        table = load_table("ketamine_pk_parameters")
    return model_from_table(table, REFERENCE_MODEL, weight_kg=weight_kg)


def _input_rate(dose: Dose):
    if dose.route == "iv" and dose.duration_min > 0:
        rate = dose.amount_mg / dose.duration_min
        return lambda t: rate if t < dose.duration_min else 0.0
    return lambda t: 0.0


def simulate(model: CompartmentModel, dose: Dose, hours: float = 48.0, step_min: float = 1.0) -> pd.DataFrame:
    """Plasma concentration over time after one dose.

    Returns a DataFrame with ``time_min``, ``time_h``, ``conc_ng_ml`` and the running
    area under the curve ``auc_ng_h_ml`` (integrated by the solver, not by trapezoids). The infusion
    end is a breakpoint of the integration, so the peak is not smoothed away.
    """
    if hours <= 0 or step_min <= 0:
        raise ValueError("hours and step_min must be positive")
    t_end = hours * MINUTES_PER_HOUR
    grid = np.arange(0.0, t_end + step_min / 2, step_min)
    k = model.rate_matrix()
    ka = dose.ka or 0.0

    # state: depot, A1, A2, A3, and the running integral of A1 / V1 (for an exact AUC)
    system = np.zeros((5, 5))
    system[0, 0] = -ka
    system[1, 0] = ka
    system[1:4, 1:4] = k
    system[4, 1] = 1.0 / model.v1
    infusion = _input_rate(dose)

    def rhs(t, a):
        da = system @ a
        da[1] += infusion(t)
        return da

    a0 = np.zeros(5)
    if dose.route == "iv":
        if dose.duration_min == 0:
            a0[1] = dose.amount_mg
    else:
        a0[0] = dose.amount_mg * dose.bioavailability

    pieces = [0.0, t_end]
    if dose.route == "iv" and 0 < dose.duration_min < t_end:
        pieces = [0.0, dose.duration_min, t_end]
    amounts = []
    state = a0
    for start, stop in zip(pieces[:-1], pieces[1:]):
        # grid points of this piece; a breakpoint shared with the previous piece is reported once
        t_eval = grid[(grid > start if amounts else grid >= start) & (grid <= stop)]
        solution = solve_ivp(rhs, (start, stop), state, method="LSODA", t_eval=np.union1d(t_eval, [stop]), rtol=1e-8, atol=1e-10)
        if not solution.success:
            raise RuntimeError(f"ODE solver failed: {solution.message}")
        keep = np.isin(solution.t, t_eval)
        amounts.append((solution.t[keep], solution.y[1, keep], solution.y[4, keep]))
        state = solution.y[:, -1]
    times = np.concatenate([t for t, _, _ in amounts])
    central = np.concatenate([a for _, a, _ in amounts])
    cumulative = np.concatenate([c for _, _, c in amounts])
    conc = np.clip(central / model.v1 * NG_PER_ML_PER_MG_PER_L, 0.0, None)
    auc = cumulative * NG_PER_ML_PER_MG_PER_L / MINUTES_PER_HOUR  # mg.min/L -> ng.h/mL
    return pd.DataFrame({"time_min": times, "time_h": times / MINUTES_PER_HOUR, "conc_ng_ml": conc, "auc_ng_h_ml": auc})


def concentration_closed_form(model: CompartmentModel, dose_mg: float, duration_min: float, times_min: np.ndarray) -> np.ndarray:
    """Plasma concentration (ng/mL) for an IV infusion, by matrix exponentials (no ODE solver).

    An independent check of :func:`simulate`: during a constant infusion
    A(t) = K^-1 (e^{Kt} - I) r; afterwards A(t) = e^{K (t - T)} A(T).
    """
    k = model.rate_matrix()
    rate = np.array([dose_mg / duration_min, 0.0, 0.0])
    k_inv = np.linalg.inv(k)
    out = []
    at_end = k_inv @ (expm(k * duration_min) - np.eye(3)) @ rate
    for t in np.atleast_1d(times_min):
        a = k_inv @ (expm(k * t) - np.eye(3)) @ rate if t <= duration_min else expm(k * (t - duration_min)) @ at_end
        out.append(a[0] / model.v1 * NG_PER_ML_PER_MG_PER_L)
    return np.array(out)


@dataclass(frozen=True)
class Exposure:
    cmax_ng_ml: float
    tmax_h: float
    auc_ng_h_ml: float
    hours_above_threshold: float | None = None


def exposure(profile: pd.DataFrame, threshold_ng_ml: float | None = None) -> Exposure:
    """Cmax, Tmax, AUC over the simulated window, and time above a threshold."""
    conc = profile["conc_ng_ml"].to_numpy()
    hours = profile["time_h"].to_numpy()
    i = int(np.argmax(conc))
    auc = float(profile["auc_ng_h_ml"].iloc[-1])
    above = None
    if threshold_ng_ml is not None:
        step = np.diff(hours, append=hours[-1])
        above = float(np.sum(step[conc >= threshold_ng_ml]))
    return Exposure(float(conc[i]), float(hours[i]), auc, above)


def terminal_half_life(profile: pd.DataFrame, from_hour: float) -> float:
    """Half-life (h) from a log-linear fit to the concentrations after ``from_hour``."""
    tail = profile[(profile["time_h"] >= from_hour) & (profile["conc_ng_ml"] > 0)]
    if len(tail) < 3:
        raise ValueError("fewer than three positive concentrations after from_hour")
    slope, _ = np.polyfit(tail["time_h"], np.log(tail["conc_ng_ml"]), 1)
    if slope >= 0:
        raise ValueError("concentrations are not falling after from_hour")
    return float(np.log(2) / -slope)


def ka_for_tmax(model: CompartmentModel, tmax_min: float, bounds=(1e-3, 5.0)) -> float:
    """The first-order absorption rate (1/min) that puts the peak at ``tmax_min``.

    Used to give an extravascular route a published Tmax when its absorption rate is
    not published: a calibration, so results made with it are *modelled*.
    """
    from scipy.optimize import brentq

    def peak_time(ka):
        profile = simulate(model, Dose(1.0, route="extravascular", ka=ka), hours=max(4 * tmax_min / 60, 2), step_min=0.25)
        return profile["time_min"].iloc[int(np.argmax(profile["conc_ng_ml"].to_numpy()))] - tmax_min

    lo, hi = bounds
    if peak_time(lo) < 0 or peak_time(hi) > 0:
        raise ValueError(f"no absorption rate in {bounds} gives Tmax {tmax_min} min")
    return float(brentq(peak_time, lo, hi, xtol=1e-5))
