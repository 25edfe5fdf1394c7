"""The config reference is generated from the pydantic model, so it cannot drift: these tests keep it so."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from reddplus.cli.main import cli
from reddplus.project import ProjectConfig
from reddplus.project_reference import config_keys, config_reference, undocumented_keys

DOCS = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def test_every_field_has_a_description():
    """Every field of ProjectConfig (nested tables included) carries a description= string."""
    assert undocumented_keys() == []


def test_undocumented_fields_are_reported():
    """The check can fail: a model with a bare field is reported by its dotted key."""
    from pydantic import BaseModel, Field

    class Inner(BaseModel):
        bare: int = 1
        told: int = Field(1, description="told [yr]")

    class Outer(BaseModel):
        inner: Inner = Field(Inner(), description="a table")
        items: list[Inner] = Field(default_factory=list, description="an array")

    assert undocumented_keys(Outer) == ["inner.bare", "items[].bare"]


def test_docs_config_md_is_current():
    """docs/config.md is what `reddplus config-reference` prints today (regenerate it with
    `reddplus config-reference --out docs/config.md --overwrite`)."""
    assert DOCS.read_text(encoding="utf-8") == config_reference(), \
        "docs/config.md is stale: run `reddplus config-reference --out docs/config.md --overwrite`"


def test_reference_lists_every_key_with_unit_and_default():
    text = config_reference()
    for k in config_keys():
        if k.section:
            name = k.key.replace("[]", "")
            assert (f"`[{name}]`" in text) or (f"`[[{name}]]`" in text), name
        else:
            short = k.key.rsplit(".", 1)[-1]
            row = next(line for line in text.splitlines() if line.startswith(f"| `{short}` |"))
            if k.unit:
                assert f"| {k.unit} |" in row.replace("\\|", "|"), (k.key, row)
    # the meanings a newcomer asked for (issue 18, item 5)
    assert "Map dates" in text and "Vintages" in text
    assert "standard error of the stratum mean" in text
    assert "| `crediting_years` | integer (>= 1, <= 100) | yr | no | 10 |" in text


def test_units_and_required_from_the_model():
    keys = {k.key: k for k in config_keys()}
    assert keys["project.crediting_years"].unit == "yr" and keys["project.crediting_years"].default == 10
    assert keys["project.crediting_start"].required
    assert keys["periods.historical_reference"].unit == "yr"          # "[start, end] map dates [yr]"
    assert keys["stocks.strata[].agb_tco2e_per_ha_sd"].unit == "t CO2e/ha"
    assert not keys["areas.leakage_belt"].required and keys["areas.leakage_belt"].default is None
    assert set(ProjectConfig.model_fields) - {"base_dir"} <= {k.split(".")[0] for k in keys}


def test_cli_prints_and_writes(tmp_path):
    r = CliRunner().invoke(cli, ["config-reference"])
    assert r.exit_code == 0 and r.output == config_reference()
    out = tmp_path / "config.md"
    assert CliRunner().invoke(cli, ["config-reference", "--out", str(out)]).exit_code == 0
    assert out.read_text() == config_reference()
    r = CliRunner().invoke(cli, ["config-reference", "--out", str(out)])
    assert r.exit_code == 3 and "--overwrite" in r.output
