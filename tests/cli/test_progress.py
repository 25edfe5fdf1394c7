"""Progress on stderr: rich bars on a terminal, plain lines (no control characters) otherwise, nothing with -q."""

from __future__ import annotations

import io

from reddplus.cli.options import progress


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    with progress("activity data", total=20, stream=out) as advance:
        for _ in range(20):
            advance(1)
    lines = out.getvalue().splitlines()
    assert lines[0] == "activity data: 2/20 (10 %)" and lines[-1] == "activity data: 20/20 (100 %)"
    assert len(lines) == 10 and "\x1b" not in out.getvalue()          # every 10 %, no escape codes


def test_plain_steps():
    out = io.StringIO()
    with progress("reddplus", stream=out) as p:
        p.step("carbon stocks")
        p.step("activity data")
    assert out.getvalue().splitlines() == ["reddplus: carbon stocks", "reddplus: activity data"]


def test_rich_on_a_terminal():
    out = Tty()
    with progress("reddplus", stream=out) as p:
        p.step("carbon stocks")
        p.step("activity data")
    text = out.getvalue()
    assert "\x1b[" in text                                             # a live display
    assert "✓" in text and "carbon stocks" in text and "activity data" in text   # finished steps stay, timed


def test_rich_bar_counts():
    out = Tty()
    with progress("blocks", total=4, stream=out) as advance:
        for _ in range(4):
            advance()
    assert "blocks: 4/4 in" in out.getvalue()


def test_quiet():
    out = Tty()
    with progress("blocks", total=4, stream=out, quiet=True) as advance:
        advance(4)
        advance.step("x")
    assert out.getvalue() == ""


def test_counts_without_total():
    out = io.StringIO()
    with progress("draws", stream=out) as advance:
        advance(5)
    assert advance.done == 5 and out.getvalue() == ""
