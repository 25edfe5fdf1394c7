"""Wood density by taxon from an offline table, with the fallback chain
species -> genus -> family -> plot mean -> dataset mean.

Canonical names: ``wood_density`` [g cm-3] (oven-dry mass / green volume, i.e. wood specific
gravity), ``wood_density_sd`` [g cm-3], ``wood_density_level`` (the level each tree was matched at).
No online service is ever called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from reddplus.errors import InputDataError

log = logging.getLogger(__name__)

#: level SDs [g cm-3] of GWDD v1: mean within-taxon SD of the taxa with >= 10 records, computed from
#: the 16,467 v1 records (BIOMASS ``sd_10`` gives 0.0708 / 0.0941 / 0.1234)
GWDD_V1_LEVEL_SD = {"species": 0.070823, "genus": 0.094213, "family": 0.124219}

#: fallback levels, in order
LEVELS = ("species", "genus", "family", "plot", "dataset")


@dataclass(frozen=True)
class WoodDensityTable:
    """Taxon means: dicts from lower-case names ("genus species", "genus", "family") to (wd, sd).

    ``level_sd`` is the standard deviation used at each level when a taxon has none of its own
    (the mean within-taxon SD of well-sampled taxa, as BIOMASS ``sd_10``).
    """

    species: dict[str, tuple[float, float]]
    genus: dict[str, tuple[float, float]]
    family: dict[str, tuple[float, float]]
    level_sd: dict[str, float]
    source: str
    region: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return (f"WoodDensityTable(source={self.source!r}, region={self.region}, species={len(self.species)}, "
                f"genus={len(self.genus)}, family={len(self.family)})")


def _key(*parts) -> str:
    return " ".join(str(p).strip().lower() for p in parts)


def _level_sd(records: pd.DataFrame, by: list[str], min_n: int = 10) -> float:
    g = records.groupby(by)["wd"]
    sd = g.std()[g.size() >= min_n]
    return float(sd.mean())


def wood_density_table_from_records(records: pd.DataFrame, region=None, source: str = "records"
                                    ) -> WoodDensityTable:
    """Taxon means from wood density records (columns family, genus, species, wd[, regionId]).

    Parameters
    ----------
    records : DataFrame
        One row per record (or per taxon×region with ``n_records`` weights): ``wd`` [g cm-3].
    region : str or sequence of str, optional
        Keep only records whose ``regionId`` is in ``region``.

    Returns
    -------
    WoodDensityTable

    Notes
    -----
    .. math:: \\bar\\rho_{sp} = \\frac{1}{n}\\sum_i \\rho_i,\\quad \\bar\\rho_{genus} = \\mathrm{mean}_{sp}\\,\\bar\\rho_{sp},
              \\quad \\bar\\rho_{family} = \\mathrm{mean}_{genus}\\,\\bar\\rho_{genus}

    References
    ----------
    1. Chave, J. et al. (2009) Towards a worldwide wood economics spectrum. Ecol. Lett. 12:351-366,
       doi:10.1111/j.1461-0248.2009.01285.x; Zanne, A. E. et al. (2009) Global wood density
       database, Dryad, doi:10.5061/dryad.234.
    2. Réjou-Méchain, M. et al. (2017) Methods Ecol. Evol. 8:1163-1167 (``getWoodDensity``).
    """
    r = records
    if region is not None:
        regions = (region,) if isinstance(region, str) else tuple(region)
        r = r[r["regionId"].isin(regions)]
        if r.empty:
            raise InputDataError(f"no wood density record for region {regions}", column="regionId")
    else:
        regions = None
    weight = r["n_records"] if "n_records" in r else pd.Series(1, index=r.index)
    r = r.assign(_w=weight, _wwd=r["wd"] * weight)
    sp = r.groupby(["family", "genus", "species"], as_index=False)[["_wwd", "_w"]].sum()
    sp["wd"] = sp["_wwd"] / sp["_w"]
    ge = sp.groupby(["family", "genus"], as_index=False)["wd"].mean()
    fa = ge.groupby("family", as_index=False)["wd"].mean()
    level_sd = dict(GWDD_V1_LEVEL_SD)  # aggregated shipped table: SDs computed from the v1 records
    if "n_records" not in records:
        level_sd = {"species": _level_sd(r, ["genus", "species"]), "genus": _level_sd(r, ["genus"]),
                    "family": _level_sd(r, ["family"])}
    return WoodDensityTable(
        species={_key(g, s): (w, level_sd["species"]) for g, s, w in zip(sp["genus"], sp["species"], sp["wd"])},
        genus={_key(g): (w, level_sd["genus"]) for g, w in zip(ge["genus"], ge["wd"])},
        family={_key(f): (w, level_sd["family"]) for f, w in zip(fa["family"], fa["wd"])},
        level_sd=level_sd, source=source, region=regions)


@lru_cache(maxsize=None)
def _shipped_records() -> pd.DataFrame:
    with resources.files("reddplus.data").joinpath("gwdd_v1_taxon_region.csv.gz").open("rb") as fh:
        return pd.read_csv(fh, compression="gzip").rename(columns={"wd_mean": "wd"})


def default_wood_density_table(region=None) -> WoodDensityTable:
    """The shipped GWDD v1 table (CC0), optionally restricted to ``region`` (GWDD ``regionId``).

    Regions: AfricaTrop, AfricaExtraTrop, Australia, AustraliaTrop, CentralAmericaTrop, China,
    Europe, India, Madagascar, Mexico, NorthAmerica, Oceania, SouthAmericaTrop,
    SouthAmericaExtraTrop, SouthEastAsia, SouthEastAsiaTrop.
    """
    t = wood_density_table_from_records(_shipped_records(), region=region, source="GWDD v1 (Zanne et al. 2009)")
    return t


def read_wood_density_table(path: str | Path) -> WoodDensityTable:
    """Read a taxon table: either GWDD v2-like (family, genus, species, wsg, sd, level_tax) or records
    (family, genus, species, wd[, regionId])."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InputDataError(f"cannot read wood density table: {err}", path=str(path)) from err
    if {"wsg", "level_tax"} <= set(df.columns):
        return wood_density_table_from_taxa(df, source=path.name)
    if {"family", "genus", "species", "wd"} <= set(df.columns):
        return wood_density_table_from_records(df, source=path.name)
    raise InputDataError("wood density table needs columns family, genus, species and wd (records) or "
                         "wsg, sd, level_tax (taxon estimates)", path=str(path))


def wood_density_table_from_taxa(df: pd.DataFrame, source: str = "taxa") -> WoodDensityTable:
    """Taxon table with one row per taxon (GWDD v2, Fischer et al. 2026: ``wsg``, ``sd``, ``level_tax``;
    species rows carry a "Genus epithet" binomial)."""
    out: dict[str, dict] = {"species": {}, "genus": {}, "family": {}}
    for level, sub in df.groupby("level_tax"):
        if level == "species":
            names = [_key(s) for s in sub["species"]]
        elif level == "genus":
            names = [_key(s) for s in sub["genus"]]
        elif level == "family":
            names = [_key(s) for s in sub["family"]]
        else:
            continue
        out[level] = dict(zip(names, zip(sub["wsg"].astype(float), sub["sd"].astype(float))))
    level_sd = {lv: float(df.loc[df["level_tax"] == lv, "sd"].mean()) for lv in ("species", "genus", "family")}
    return WoodDensityTable(out["species"], out["genus"], out["family"], level_sd, source)


@dataclass(frozen=True)
class WoodDensityMatch:
    """Per-tree wood density [g cm-3], its SD [g cm-3] and the level it was matched at."""

    wood_density: np.ndarray
    wood_density_sd: np.ndarray
    level: np.ndarray  # str, one of LEVELS

    @property
    def counts(self) -> dict[str, int]:
        return {lv: int(np.sum(self.level == lv)) for lv in LEVELS}

    def to_dict(self) -> dict:
        return {"wood_density_levels": self.counts}


def _clean(values, n: int) -> list[str | None]:
    if values is None:
        return [None] * n
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        s = str(v).strip()
        out.append(None if s == "" or s.lower() in {"indet", "indet.", "na", "nan", "sp", "sp.", "spp"} else s)
    return out


def match_wood_density(genus, species, table: WoodDensityTable, family=None, plot=None) -> WoodDensityMatch:
    """Wood density of each tree from its taxon, with the fallback chain.

    Parameters
    ----------
    genus, species : sequence of str (species epithet, or a "Genus epithet" binomial)
    table : WoodDensityTable (e.g. :func:`default_wood_density_table`, with a region filter)
    family : sequence of str, optional (without it the family level is skipped, as in BIOMASS)
    plot : sequence, optional (plot label of each tree; enables the plot-mean level)

    Returns
    -------
    WoodDensityMatch
        ``wood_density`` [g cm-3], ``wood_density_sd`` [g cm-3], ``level``.

    Notes
    -----
    Unmatched trees take the mean (and SD) of the trees of their plot matched at a taxonomic
    level, then of the whole data set:

    .. math:: \\rho_i = \\rho_{sp} \\to \\rho_{genus} \\to \\rho_{family} \\to \\bar\\rho_{plot} \\to \\bar\\rho_{data}

    References
    ----------
    1. Chave, J. et al. (2009) Ecol. Lett. 12:351-366; Zanne et al. (2009) doi:10.5061/dryad.234.
    2. Réjou-Méchain, M. et al. (2017) Methods Ecol. Evol. 8:1163-1167 (``getWoodDensity``).
    """
    genus = _clean(genus, len(genus))
    n = len(genus)
    species = _clean(species, n)
    family = _clean(family, n)
    wd = np.full(n, np.nan)
    sd = np.full(n, np.nan)
    level = np.empty(n, dtype=object)
    for i, (f, g, s) in enumerate(zip(family, genus, species)):
        hit = None
        if g is not None and s is not None:
            epithet = s.split()[-1] if s.lower().startswith(g.lower() + " ") else s
            hit = table.species.get(_key(g, epithet))
            if hit is not None:
                level[i] = "species"
        if hit is None and g is not None:
            hit = table.genus.get(_key(g))
            if hit is not None:
                level[i] = "genus"
        if hit is None and f is not None:
            hit = table.family.get(_key(f))
            if hit is not None:
                level[i] = "family"
        if hit is not None:
            wd[i], sd[i] = hit
    matched = np.isfinite(wd)
    if plot is not None:
        plot = pd.Series(np.asarray(plot)).astype(str).to_numpy()
        for p in pd.unique(plot[~matched]):
            in_plot = plot == p
            vals = wd[in_plot & matched]
            if len(vals) > 0:
                todo = in_plot & ~matched
                wd[todo] = vals.mean()
                sd[todo] = vals.std(ddof=1) if len(vals) > 1 else table.level_sd.get("family", np.nan)
                level[todo] = "plot"
    rest = ~np.isfinite(wd)
    if rest.any():
        vals = wd[matched]
        if len(vals) == 0:
            raise InputDataError("no tree could be matched to a wood density: check the genus/species columns "
                                 "(and the region filter)", column="genus")
        wd[rest] = vals.mean()
        sd[rest] = vals.std(ddof=1) if len(vals) > 1 else table.level_sd.get("family", np.nan)
        level[rest] = "dataset"
    counts = {lv: int(np.sum(level == lv)) for lv in LEVELS}
    log.info("wood density matched: %s", counts)
    return WoodDensityMatch(wd, sd, level.astype(str))
