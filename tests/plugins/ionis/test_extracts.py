"""The WSPR signatures extract spec: bound parameters only, and a schema matching the signature tables."""

from __future__ import annotations

import re

from plugins.ionis.extracts import WSPR_SIGNATURES, WSPR_SIGNATURES_SPEC


def test_every_bound_parameter_has_a_default():
    bound = set(re.findall(r"\{(\w+):\w+\}", WSPR_SIGNATURES_SPEC.sql))
    assert bound == set(WSPR_SIGNATURES_SPEC.params)
    assert "rand()" not in WSPR_SIGNATURES_SPEC.sql.lower()


def test_schema_columns():
    assert WSPR_SIGNATURES_SPEC.name == WSPR_SIGNATURES
    columns = dict(WSPR_SIGNATURES_SPEC.schema)
    assert columns["band"] == "Int32" and columns["tx_grid_4"] == "FixedString(4)" and len(columns) == 14
    assert columns["norm_source"] == "String" and WSPR_SIGNATURES_SPEC.params["norm_source"] == "wspr"
