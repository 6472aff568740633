"""Receptor occupancy: what fraction of a binding site a drug occupies at a given concentration.

The model is the law of mass action for reversible binding to one site. A ligand at free
concentration ``C`` with equilibrium inhibition (dissociation) constant ``K`` occupies

    occupancy = C**n / (C**n + K**n)

of the sites (the Hill equation; ``n = 1`` is simple one-site binding, and ``C = K`` gives half
occupancy whatever ``n``). When several ligands compete for the same site, as the two enantiomers
of racemic ketamine do at the channel site of the NMDA receptor, the total occupancy with ``n = 1``
is

    occupancy = sum(C_i / K_i) / (1 + sum(C_i / K_i)),

and each ligand's share is its own ``C_i / K_i`` over the same denominator. For a mixture that
holds a fraction ``f`` of ligand S and ``1 - f`` of ligand R at total concentration ``C`` this is
exactly single-ligand binding with an *effective* constant

    K_mix = 1 / (f / K_S + (1 - f) / K_R),

which is closer to the tighter binder. For racemic ketamine ``f = 0.5``. ``K_mix`` is a derived
value, not a measured one, and the chapter labels it so.

Units: concentrations and constants in micromolar (umol/L). Plasma concentrations in ng/mL
(= ug/L) convert with the molar mass: ng/mL divided by g/mol gives umol/L.

What the model leaves out, and the chapter says so: it treats a concentration as if it were the
free concentration at the receptor (plasma is not brain, total is not free), it is an equilibrium
model (ketamine is a use-dependent open-channel blocker that enters only open channels and can be
trapped when they close), and binding constants from a radioligand assay in brain homogenate are
not functional block of synaptic receptors in physiological magnesium.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

# Standard atomic weights (conventional values, g/mol) for the elements in ketamine.
ATOMIC_MASS = {"C": 12.011, "H": 1.008, "Cl": 35.45, "N": 14.007, "O": 15.999}

KETAMINE_FORMULA = {"C": 13, "H": 16, "Cl": 1, "N": 1, "O": 1}
"""Ketamine free base, C13H16ClNO (both enantiomers share it)."""


def molar_mass(formula: Mapping[str, int]) -> float:
    """Molar mass in g/mol of a formula given as ``{element: count}``."""
    unknown = sorted(set(formula) - set(ATOMIC_MASS))
    if unknown:
        raise KeyError(f"no atomic mass for {unknown}; known: {sorted(ATOMIC_MASS)}")
    if any(count < 0 for count in formula.values()):
        raise ValueError("element counts must not be negative")
    return float(sum(ATOMIC_MASS[element] * count for element, count in formula.items()))


KETAMINE_MOLAR_MASS = molar_mass(KETAMINE_FORMULA)
"""About 237.7 g/mol."""


def ng_ml_to_um(conc_ng_ml, molar_mass_g_mol: float = KETAMINE_MOLAR_MASS):
    """Convert ng/mL to micromolar (ng/mL = ug/L; ug/L divided by g/mol = umol/L)."""
    if not molar_mass_g_mol > 0:
        raise ValueError(f"molar mass must be positive, got {molar_mass_g_mol}")
    conc = np.asarray(conc_ng_ml, dtype=float)
    if np.any(conc < 0):
        raise ValueError("concentrations must not be negative")
    out = conc / molar_mass_g_mol
    return float(out) if out.ndim == 0 else out


def um_to_ng_ml(conc_um, molar_mass_g_mol: float = KETAMINE_MOLAR_MASS):
    """Convert micromolar to ng/mL (the inverse of :func:`ng_ml_to_um`)."""
    if not molar_mass_g_mol > 0:
        raise ValueError(f"molar mass must be positive, got {molar_mass_g_mol}")
    conc = np.asarray(conc_um, dtype=float)
    if np.any(conc < 0):
        raise ValueError("concentrations must not be negative")
    out = conc * molar_mass_g_mol
    return float(out) if out.ndim == 0 else out


def _check_constant(k_um: float, name: str = "K") -> float:
    k_um = float(k_um)
    if not (k_um > 0 and np.isfinite(k_um)):
        raise ValueError(f"{name} must be a positive finite concentration in micromolar, got {k_um}")
    return k_um


def _check_concentration(conc_um) -> np.ndarray:
    conc = np.asarray(conc_um, dtype=float)
    if np.any(~np.isfinite(conc)) or np.any(conc < 0):
        raise ValueError("concentrations must be finite and not negative")
    return conc


def _scalar_or_array(values: np.ndarray):
    return float(values) if values.ndim == 0 else values


def occupancy(conc_um, k_um: float, hill: float = 1.0):
    """Fraction of sites occupied at free concentration ``conc_um`` (Hill equation).

    ``k_um`` is the concentration that gives half occupancy (for one-site binding, the
    equilibrium constant Ki). Works on scalars and arrays.
    """
    k_um = _check_constant(k_um)
    if not (hill > 0 and np.isfinite(hill)):
        raise ValueError(f"Hill coefficient must be positive, got {hill}")
    conc = _check_concentration(conc_um)
    ratio = (conc / k_um) ** hill
    return _scalar_or_array(ratio / (1.0 + ratio))


def concentration_for_occupancy(fraction: float, k_um: float, hill: float = 1.0) -> float:
    """Free concentration (micromolar) at which ``fraction`` of the sites are occupied."""
    k_um = _check_constant(k_um)
    if not 0 < fraction < 1:
        raise ValueError(f"occupancy must be strictly between 0 and 1, got {fraction}")
    if not hill > 0:
        raise ValueError(f"Hill coefficient must be positive, got {hill}")
    return k_um * (fraction / (1.0 - fraction)) ** (1.0 / hill)


def competitive_occupancy(concentrations_um: Mapping[str, object], constants_um: Mapping[str, float]) -> dict:
    """Occupancy of one site by several ligands that compete for it (one-site binding, n = 1).

    Returns ``{"total": ..., name: share, ...}``; the shares add up to the total.
    """
    if set(concentrations_um) != set(constants_um):
        raise KeyError(f"concentrations {sorted(concentrations_um)} and constants {sorted(constants_um)} name different ligands")
    if not concentrations_um:
        raise ValueError("give at least one ligand")
    loads = {name: _check_concentration(c) / _check_constant(constants_um[name], f"K of {name}")
             for name, c in concentrations_um.items()}
    denominator = 1.0 + sum(loads.values())
    shares = {name: _scalar_or_array(load / denominator) for name, load in loads.items()}
    total = _scalar_or_array(np.asarray(sum(loads.values()) / denominator))
    return {"total": total, **shares}


def effective_constant(k_s_um: float, k_r_um: float, fraction_s: float = 0.5) -> float:
    """Effective constant of a mixture of two competing ligands (derived, not measured).

    With a fraction ``fraction_s`` of ligand S (the rest R), the mixture at total concentration C
    occupies the site exactly like one ligand with this constant. For racemic ketamine
    ``fraction_s = 0.5``.
    """
    k_s_um = _check_constant(k_s_um, "K of S")
    k_r_um = _check_constant(k_r_um, "K of R")
    if not 0 <= fraction_s <= 1:
        raise ValueError(f"fraction of S must be between 0 and 1, got {fraction_s}")
    return 1.0 / (fraction_s / k_s_um + (1.0 - fraction_s) / k_r_um)


def racemate_occupancy(total_um, k_s_um: float, k_r_um: float, fraction_s: float = 0.5) -> dict:
    """Occupancy of the site by a mixture of the two enantiomers at total concentration ``total_um``.

    Returns ``{"total": ..., "S": ..., "R": ...}``.
    """
    if not 0 <= fraction_s <= 1:
        raise ValueError(f"fraction of S must be between 0 and 1, got {fraction_s}")
    total = _check_concentration(total_um)
    return competitive_occupancy({"S": total * fraction_s, "R": total * (1.0 - fraction_s)},
                                 {"S": k_s_um, "R": k_r_um})


def constants_from_table(table: pd.DataFrame, measure: str = "Ki", target: str = "NMDA receptor channel site") -> dict:
    """``{compound: value_um}`` from rows of the ``ketamine_receptor_affinities`` table."""
    rows = table[(table["measure"] == measure) & (table["target"] == target)]
    if rows.empty:
        raise KeyError(f"no {measure} rows for target {target!r}")
    if rows["compound"].duplicated().any():
        raise ValueError(f"more than one {measure} for a compound at {target!r}: {sorted(rows['compound'])}")
    return {row["compound"]: float(row["value_um"]) for _, row in rows.iterrows()}


def occupancy_profile(profile: pd.DataFrame, k_s_um: float, k_r_um: float, free_fraction: float = 1.0,
                      molar_mass_g_mol: float = KETAMINE_MOLAR_MASS) -> pd.DataFrame:
    """Add modelled occupancy to a plasma concentration profile of racemic ketamine.

    ``profile`` has columns ``time_h`` and ``conc_ng_ml`` (as returned by
    :func:`ketamine_course.pharmacokinetics.simulate`). ``free_fraction`` is the assumed fraction
    of the plasma concentration that is free to bind (1 means no correction); the model does not
    know brain concentrations, so this is a scenario, not a measurement.

    Returns a copy with ``conc_um`` (total racemate), ``free_um`` and ``occupancy``,
    ``occupancy_S`` and ``occupancy_R``.
    """
    if not 0 < free_fraction <= 1:
        raise ValueError(f"free fraction must be in (0, 1], got {free_fraction}")
    missing = {"time_h", "conc_ng_ml"} - set(profile.columns)
    if missing:
        raise KeyError(f"profile lacks columns {sorted(missing)}")
    out = profile.copy()
    out["conc_um"] = ng_ml_to_um(out["conc_ng_ml"].to_numpy(), molar_mass_g_mol)
    out["free_um"] = out["conc_um"] * free_fraction
    occ = racemate_occupancy(out["free_um"].to_numpy(), k_s_um, k_r_um)
    out["occupancy"] = occ["total"]
    out["occupancy_S"] = occ["S"]
    out["occupancy_R"] = occ["R"]
    return out


def hours_above(profile: pd.DataFrame, column: str, threshold: float) -> float:
    """Total time (hours) during which ``profile[column]`` is at or above ``threshold``.

    Uses the sampled grid: each interval counts when both of its ends are above the threshold,
    and partly (by linear interpolation) when it crosses it.
    """
    t = profile["time_h"].to_numpy(dtype=float)
    y = profile[column].to_numpy(dtype=float) - threshold
    total = 0.0
    for i in range(len(t) - 1):
        a, b, dt = y[i], y[i + 1], t[i + 1] - t[i]
        if a >= 0 and b >= 0:
            total += dt
        elif a >= 0 > b:
            total += dt * a / (a - b)
        elif b >= 0 > a:
            total += dt * b / (b - a)
    return float(total)
