"""Issuance of the ex-post vintages into the run's registry (serial-number blocks), reversals cancelled
from the buffer pool, and the CCB label on the vintages a CCB verification covers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reddplus.chain.results import CreditsResult
from reddplus.project import ProjectConfig


def project_record(cfg: ProjectConfig) -> dict:
    """The registry's record of the project (Verra registry fields) from its config."""
    c0, n = cfg.project.crediting_start, cfg.project.crediting_years
    import datetime as dt

    return {"standard": "VCS", "methodology": "VM0048", "status": "Registered",
            "crediting_period_start": dt.date(c0, 1, 1), "crediting_period_end": dt.date(c0 + n - 1, 12, 31),
            "labels": ["CCB"] if cfg.ccb is not None else []}


def issuance(cfg: ProjectConfig, credits_: CreditsResult, manifest_sha256: str, root: Path):
    """Issue the ex-post vintages into ``root/registry.sqlite``; cancel buffer credits for reversals
    (VCS Standard v4.5 section 3.2.26); label CCB the vintages ``ccb_verification`` covers."""
    table = credits_.ex_post
    if table is None or not (any(r.issuance > 0 for r in table.rows) or table.reversals):
        return None
    from reddplus.registry.issuance import issue_vintages

    ver = cfg.ccb_verification.model_dump() if cfg.ccb_verification is not None else None
    res = issue_vintages(root / "registry.sqlite", project_name=cfg.project.name, country=cfg.project.country,
                         project_id=cfg.project.id, monitoring_periods=cfg.periods.monitoring, rows=table.rows,
                         buffer_percent=table.buffer_percent, manifest_sha256=manifest_sha256,
                         reversals=table.reversals, project_record=project_record(cfg), ccb_verification=ver)
    return replace(res, database=Path("registry.sqlite"))
