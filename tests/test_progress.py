"""Progress in log files: whole lines every few percent, no carriage returns; tqdm on a terminal."""

import io

from lossnet._util import progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_every_few_percent_when_not_a_terminal():
    out = io.StringIO()
    bar = progress_bar(range(200), desc="epoch 1/3", every=10, file=out)
    seen = []
    for i in bar:
        seen.append(i)
        bar.set_postfix(loss=f"{1 / (i + 1):.3g}")
    bar.close()
    lines = out.getvalue().splitlines()
    assert seen == list(range(200)) and "\r" not in out.getvalue()
    assert len(lines) == 10 and lines[0].startswith("epoch 1/3:  10% 20/200 [") and "loss=" in lines[0]
    assert lines[-1].startswith("epoch 1/3: 100% 200/200")


def test_unknown_length_disabled_and_terminal():
    out = io.StringIO()
    assert list(progress_bar(iter(range(3)), desc="x", file=out)) == [0, 1, 2]
    assert out.getvalue().startswith("x: 3 [")
    quiet = io.StringIO()
    assert list(progress_bar(range(5), disable=True, file=quiet)) == list(range(5)) and quiet.getvalue() == ""
    terminal = _Terminal()
    assert list(progress_bar(range(5), desc="t", file=terminal)) == list(range(5)) and "\r" in terminal.getvalue()
