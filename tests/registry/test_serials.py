"""Serial format, serial arithmetic and the buffer rounding (pure functions)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reddplus.registry.errors import MalformedSerialError
from reddplus.registry.serials import block_quantity, format_serial, parse_serial, split_range
from reddplus.registry.service import buffer_quantity


def test_example_from_the_docstring():
    s = parse_serial("12-1000001-1000900-RDDP-VCU-BR-7-01012020-31122020")
    assert (s.issuance, s.first, s.last, s.program, s.unit_type, s.country, s.project) == (
        12, 1000001, 1000900, "RDDP", "VCU", "BR", 7)
    assert s.quantity == 900
    assert (s.vintage_start, s.vintage_end) == (dt.date(2020, 1, 1), dt.date(2020, 12, 31))
    assert str(s) == "12-1000001-1000900-RDDP-VCU-BR-7-01012020-31122020"


@pytest.mark.parametrize("bad", [
    "", "12-1-900", "12-900-1-RDDP-VCU-BR-7-01012020-31122020",          # last < first
    "12-0-9-RDDP-VCU-BR-7-01012020-31122020",                             # serial 0
    "12-1-9-RDDP-VCU-BRA-7-01012020-31122020",                            # 3-letter country
    "12-1-9-rddp-VCU-BR-7-01012020-31122020",                             # lower case program
    "12-1-9-RDDP-VCU-BR-7-32012020-31122020",                             # 32 January
    "12-1-9-RDDP-VCU-BR-7-01012021-31122020",                             # vintage ends before it starts
    "12-1-9-RDDP-VCU-BR-7-01012020-31122020-1",                           # extra field
    "x12-1-9-RDDP-VCU-BR-7-01012020-31122020",
])
def test_malformed_serials_are_refused(bad):
    with pytest.raises(MalformedSerialError) as err:
        parse_serial(bad)
    assert err.value.code == "malformed_serial" and err.value.http_status == 422


dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))


@given(st.integers(1, 10**6), st.integers(1, 10**12), st.integers(0, 10**9), st.integers(1, 10**6),
       st.sampled_from(["BR", "PE", "KH"]), dates, dates)
def test_format_parse_round_trip(issuance, first, extra, project, country, d1, d2):
    vs, ve = min(d1, d2), max(d1, d2)
    text = format_serial(issuance, first, first + extra, program="RDDP", unit_type="VCU", country=country,
                         project=project, vintage_start=vs, vintage_end=ve)
    s = parse_serial(text)
    assert (s.issuance, s.first, s.last, s.project, s.vintage_start, s.vintage_end) == (
        issuance, first, first + extra, project, vs, ve)
    assert s.quantity == extra + 1


@given(st.integers(1, 10**12), st.integers(0, 10**6), st.data())
def test_split_conserves_and_abuts(start, extra, data):
    end = start + extra
    q = data.draw(st.integers(1, extra + 1))
    (h0, h1), tail = split_range(start, end, q)
    assert h0 == start and block_quantity(h0, h1) == q
    if tail is None:
        assert q == extra + 1 and h1 == end
    else:
        assert tail[0] == h1 + 1 and tail[1] == end
        assert block_quantity(*tail) + q == block_quantity(start, end)


@pytest.mark.parametrize("q", [0, -1, 11])
def test_split_refuses_out_of_range(q):
    with pytest.raises(ValueError):
        split_range(1, 10, q)


@pytest.mark.parametrize("quantity, pct, expected", [
    (1000, "10", 100), (900, "12.5", 113),     # 112.5 rounds up (conservative)
    (7, "0", 0), (7, "100", 7), (3, "33.34", 2), (1, "0.001", 1),
])
def test_buffer_quantity_rounds_up(quantity, pct, expected):
    assert buffer_quantity(quantity, Decimal(pct)) == expected


@given(st.integers(1, 10**9), st.decimals(0, 100, places=2))
def test_buffer_quantity_bounds(quantity, pct):
    b = buffer_quantity(quantity, pct)
    assert 0 <= b <= quantity
    assert b * 100 >= quantity * pct > (b - 1) * 100
