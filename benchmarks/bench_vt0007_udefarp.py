"""VT0007 benchmark workflow: reddplus vs UDef-ARP (Verra's reference implementation), same inputs, same periods.

Usage::

    .venv/bin/python benchmarks/bench_vt0007_udefarp.py [--side 6000 10000] [--seed 42]
        [--workdir /tmp/bench_udefarp] [--udef-venv /opt/udef-venv] [--no-exact-check]

For each size (side x side pixels of 30 m: 6000 = 3.6e7 px, 10000 = 1e8 px):

* generates an fcc123 raster block by block with a seed (``bench_risk.generate_fcc``), four admin
  units (quadrants) and a project polygon;
* times, each as a whole process under ``/usr/bin/time -v`` (wall time, peak RSS):
  - UDef-ARP's user workflow: the GIS preparation (``prepare.py``: GDAL proximity distances,
    deforestation maps, admin and mask rasters, as a QGIS/GDAL user makes them) and its four
    stages (``run.py``: NRT, the four vulnerability maps, CAL fit and assessment, CNF prediction
    and assessment, HRP fit, VP prediction), in its own virtual environment;
  - ``reddplus risk benchmark --profile udef-arp`` on the fcc123 raster and the polygons (all of
    the above, plus the project allocation);
* checks that the outputs agree. UDef-ARP's user workflow feeds GDAL proximity distances, which
  overestimate a few hundred pixels per map; reddplus uses the exact transform. So the check runs
  UDef-ARP a second time on exact distances (``prepare.py --distance edt``, not timed) and requires
  the same NRT, identical class rasters, ARs to 1e-6, the same cells with MedAE/MAE/R2 to 1e-6 and
  the same project allocation; against the GDAL run it prints the agreement.
* prints both tools' wall time and peak RSS and the ratios (targets: reddplus >= 10x faster and
  <= 1/5 of the memory).

The peer venv comes from ``../shared/peers/udef-arp/install.sh VENV`` (never reddplus's venv).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_risk import CRS, generate_fcc  # noqa: E402

PEER = ROOT.parent / "shared" / "peers" / "udef-arp"
PERIODS = "CAL=2000-2010,CNF=2010-2020,HRP=2000-2020,VP=2020"
CELL_HA = 100_000


def timed(cmd: list[str], env=None, cwd=None) -> dict:
    """Run ``cmd`` as a whole process under /usr/bin/time -v; wall [s], peak RSS [MB], stdout."""
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    hh, mm, ss = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr).groups()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return {"wall_s": int(hh or 0) * 3600 + int(mm) * 60 + float(ss), "rss_mb": rss, "stdout": p.stdout}


def make_inputs(wd: Path, side: int, seed: int) -> dict:
    """fcc123 raster, four admin quadrants (field ``unit``) and a project box, on the raster's grid."""
    import geopandas as gpd
    from shapely.geometry import box

    wd.mkdir(parents=True, exist_ok=True)
    fcc = wd / "fcc123.tif"
    if not fcc.exists():
        generate_fcc(fcc, side, seed)
    x0, y1 = 0.0, 3_000_000.0
    x1, y0 = x0 + side * 30.0, y1 - side * 30.0
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    admin = wd / "admin.gpkg"
    gpd.GeoDataFrame({"unit": ["NW", "NE", "SW", "SE"]},
                     geometry=[box(x0, ym, xm, y1), box(xm, ym, x1, y1), box(x0, y0, xm, ym), box(xm, y0, x1, ym)],
                     crs=CRS).to_file(admin)
    project = wd / "project.gpkg"
    w = side * 30.0 * 0.12
    gpd.GeoDataFrame(geometry=[box(xm - w, ym - w / 2, xm + w / 3, ym + w)], crs=CRS).to_file(project)
    return {"fcc": fcc, "admin": admin, "project": project}


def run_udefarp(wd: Path, inp: dict, py: str, distance: str) -> dict:
    """prepare.py then run.py (distance = gdal: the user's workflow; edt: exact distances)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MPLBACKEND="Agg")
    prep_dir, out = wd / f"udef_inputs_{distance}", wd / f"udef_{distance}"
    prep = timed([py, str(PEER / "prepare.py"), str(prep_dir), "--fcc123", str(inp["fcc"]), "--dates", "2000,2010,2020",
                  "--admin", str(inp["admin"]), "--admin-field", "unit", "--project", str(inp["project"]),
                  "--periods", PERIODS, "--distance", distance, "--overwrite"], env=env)
    run = timed([py, str(PEER / "run.py"), str(out), "--prepared", str(prep_dir), "--distance", distance,
                 "--grid-area", str(CELL_HA), "--expected", "hrp_average", "--project", str(prep_dir / "project.tif"),
                 "--max-iter", "5", "--drop-html", "--drop-region-maps", "--overwrite"], env=env)
    return {"prepare": prep, "run": run, "out": out, "prepared": prep_dir,
            "results": json.loads((out / "results.json").read_text()),
            "prepare_json": json.loads((prep_dir / "prepare.json").read_text())}


def run_reddplus(wd: Path, inp: dict, expected: float) -> dict:
    out = wd / "reddplus"
    t = timed([str(ROOT / ".venv" / "bin" / "reddplus"), "risk", "benchmark", str(inp["fcc"]), "--format", "fcc123",
               "--dates", "2000,2010,2020", "--periods", PERIODS, "--admin", str(inp["admin"]), "--admin-field", "unit",
               "--project", str(inp["project"]), "--expected-deforestation-ha-per-year", repr(expected),
               "--profile", "udef-arp", "--max-iterations", "5", "--cell-area-ha", str(CELL_HA),
               "--out", str(out), "--overwrite", "--json"])
    t["result"] = json.loads(t["stdout"])
    t["out"] = out
    return t


def compare(red: dict, udef: dict) -> dict:
    """Agreement of reddplus (udef-arp profile) with one UDef-ARP run."""
    import rasterio

    res, r = udef["results"], red["result"]
    classes = {}
    for ours, theirs in (("cal", "CAL"), ("cnf", "CNF"), ("cal", "HRP"), ("vp", "VP")):
        with rasterio.open(red["out"] / f"classes_{ours}.tif") as a:
            x = a.read(1)
        with rasterio.open(udef["out"] / f"vuln_{theirs}.tif") as b:
            y = b.read(1)
        forest = (x > 0) | (y > 0)
        classes[theirs] = 1.0 - float((x != y).sum()) / max(int(forest.sum()), 1)
    ar = {s: abs(r[k]["ratio"] / res["prediction"][s]["ar_product"] - 1)
          for k, s in (("cnf_adjustment", "CNF"), ("vp_adjustment", "VP"))}
    assess = {}
    for a, s in zip(r["assessment"], ("CAL", "CNF")):
        ra = res["assessment"][s]
        assess[s] = {"cells": (a["n_cells"], ra["cells"]),
                     "medae_rel": abs(a["medae_ha"] / ra["medae_ha"] - 1),
                     "mae_rel": abs(a["mae_ha"] / ra["mae_ha"] - 1), "r2_rel": abs(a["r2"] / ra["r2"] - 1)}
    proj = abs(r["allocation"]["project_ha_per_year"] / res["prediction"]["VP"]["project_ha_per_year"] - 1)
    return {"nrt": (r["nrt_m"], res["nrt"]["computed_m"]), "class_agreement": classes, "ar_rel": ar,
            "assessment": assess, "project_rel": proj}


def exact_ok(c: dict) -> bool:
    return (c["nrt"][0] == c["nrt"][1] and all(v == 1.0 for v in c["class_agreement"].values())
            and all(v <= 1e-6 for v in c["ar_rel"].values()) and c["project_rel"] <= 1e-6
            and all(a["cells"][0] == a["cells"][1] and max(a["medae_rel"], a["mae_rel"], a["r2_rel"]) <= 1e-6
                    for a in c["assessment"].values()))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, nargs="+", default=[6000, 10_000], help="raster side(s) [pixels]")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--workdir", default="/tmp/bench_udefarp")
    ap.add_argument("--udef-venv", default="/opt/udef-venv", help="UDef-ARP's venv (install.sh VENV)")
    ap.add_argument("--no-exact-check", action="store_true", help="skip the UDef-ARP run on exact distances")
    args = ap.parse_args(argv)
    py = str(Path(args.udef_venv) / "bin" / "python")
    if not Path(py).exists():
        sys.exit(f"UDef-ARP venv not found at {args.udef_venv}: bash {PEER}/install.sh {args.udef_venv}")
    rows = []
    for side in args.side:
        wd = Path(args.workdir) / f"s{side}"
        inp = make_inputs(wd, side, args.seed)
        udef = run_udefarp(wd, inp, py, "gdal")
        expected = float(udef["prepare_json"]["hrp_annual_average_ha_per_year"])
        red = run_reddplus(wd, inp, expected)
        u_wall = udef["prepare"]["wall_s"] + udef["run"]["wall_s"]
        u_rss = max(udef["prepare"]["rss_mb"], udef["run"]["rss_mb"])
        print(f"\n{side} x {side} = {side * side:.2e} px (30 m), periods {PERIODS}, cells {CELL_HA} ha, "
              f"expected {expected:.2f} ha/yr")
        print(f"  UDef-ARP GIS preparation (prepare.py, GDAL proximity): {udef['prepare']['wall_s']:7.1f} s "
              f"{udef['prepare']['rss_mb']:7.0f} MB")
        print(f"  UDef-ARP four stages (run.py):                         {udef['run']['wall_s']:7.1f} s "
              f"{udef['run']['rss_mb']:7.0f} MB")
        print(f"  UDef-ARP whole workflow:                               {u_wall:7.1f} s {u_rss:7.0f} MB (peak)")
        print(f"  reddplus risk benchmark --profile udef-arp:            {red['wall_s']:7.1f} s "
              f"{red['rss_mb']:7.0f} MB")
        print(f"  ratio UDef-ARP / reddplus: wall x{u_wall / red['wall_s']:.1f} (target >= 10), "
              f"peak RSS x{u_rss / red['rss_mb']:.1f} (target >= 5)")
        c = compare(red, udef)
        print(f"  vs UDef-ARP on GDAL distances: NRT {c['nrt'][0]:g} / {c['nrt'][1]:g} m, class pixels identical "
              + ", ".join(f"{k} {v:.4%}" for k, v in c["class_agreement"].items())
              + f", AR rel. diff {max(c['ar_rel'].values()):.1e}, project rel. diff {c['project_rel']:.1e}")
        ok = None
        if not args.no_exact_check:
            ex = run_udefarp(wd, inp, py, "edt")
            ce = compare(red, ex)
            ok = exact_ok(ce)
            print(f"  vs UDef-ARP on exact distances: {'AGREE' if ok else 'DIFFER'} (NRT {ce['nrt']}, classes "
                  + ", ".join(f"{k} {v:.4%}" for k, v in ce["class_agreement"].items())
                  + f", AR {max(ce['ar_rel'].values()):.1e}, MedAE/MAE/R2 "
                  f"{max(max(a['medae_rel'], a['mae_rel'], a['r2_rel']) for a in ce['assessment'].values()):.1e}, "
                  f"cells {[a['cells'] for a in ce['assessment'].values()]}, project {ce['project_rel']:.1e})")
        rows.append((side, u_wall, u_rss, red["wall_s"], red["rss_mb"], ok))
    if len(rows) > 1:
        (s0, _, _, w0, m0, _), (s1, _, _, w1, m1, _) = rows[0], rows[-1]
        print(f"\nreddplus growth {s0}->{s1} ({(s1 / s0) ** 2:.1f}x px): wall x{w1 / w0:.2f}, peak RSS x{m1 / m0:.2f}")
    if any(ok is False for *_, ok in rows):
        sys.exit("outputs differ from UDef-ARP on exact distances")


if __name__ == "__main__":
    main()
