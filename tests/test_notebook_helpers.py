import numpy as np
import pandas as pd
import pytest

from ketamine_course.data import load_table, value_of
from ketamine_course.notebook import plain


def test_numpy_scalars_become_plain_numbers():
    assert type(plain(np.float64(1.5))) is float
    assert type(plain(np.int64(3))) is int
    assert plain("text") == "text"


@pytest.mark.parametrize("bad", [np.nan, float("inf"), True, [1, 2]])
def test_values_that_cannot_go_into_prose_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        plain(bad)


def test_value_of_returns_the_one_matching_value(root):
    table = load_table("ketamine_milestones", root=root)
    assert value_of(table, "year", label="Ketamine synthesised") == 1962


def test_value_of_refuses_ambiguous_or_missing_rows():
    frame = pd.DataFrame({"a": [1, 1, 2], "b": [10, 20, 30]})
    frame.attrs["source_file"] = "data/x.csv"
    with pytest.raises(LookupError, match="data/x.csv: 2 rows match"):
        value_of(frame, "b", a=1)
    with pytest.raises(LookupError, match="0 rows match"):
        value_of(frame, "b", a=9)
    with pytest.raises(LookupError, match="no column 'c'"):
        value_of(frame, "b", c=1)
    assert value_of(frame, "b", a=2) == 30
