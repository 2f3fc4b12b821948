"""Axis grids from the command line."""

from __future__ import annotations

import pytest
import typer

from semdistill.utils.grid import grid_option, parse_grid


def test_ranges_are_inclusive_and_lists_are_taken_as_given():
    assert parse_grid("-5:20:5") == [-5, 0, 5, 10, 15, 20]
    assert parse_grid("0,10") == [0, 10]
    assert parse_grid("0:1:0.25") == [0, 0.25, 0.5, 0.75, 1]


@pytest.mark.parametrize("spec", ["5:0:1", "0:10:0", "0:10:-1", "a,b", "", "1:2"])
def test_malformed_grids_are_value_errors_with_the_usage(spec):
    with pytest.raises(ValueError, match="START:STOP:STEP"):
        parse_grid(spec)


def test_grid_option_turns_a_malformed_grid_into_a_usage_error():
    assert grid_option("0,10") == [0, 10]
    with pytest.raises(typer.BadParameter, match="START:STOP:STEP"):
        grid_option("5:0:1")


@pytest.mark.parametrize("spec", ["0:1e9:1e-9", "0:1001:1"])
def test_a_grid_of_more_than_the_maximum_points_is_refused_before_it_is_built(spec):
    with pytest.raises(ValueError, match="at most 1000"):
        parse_grid(spec)
    assert len(parse_grid("0:999:1")) == 1000


@pytest.mark.parametrize("spec", ["0:inf:1", "nan,1", "0:10:nan"])
def test_non_finite_grid_values_are_refused(spec):
    with pytest.raises(ValueError, match="START:STOP:STEP"):
        parse_grid(spec)
