"""JSON bodies read exactly: numbers with a fraction or an exponent become decimals, never floats.

A lab value of ``20.000000000000001`` mg/kg is above a limit of 20; as a float it would be 20.0 and pass.
Whole numbers stay ints. Only what the API reads is parsed this way; answers are written as Flask writes them.
"""

import decimal
import json
from typing import Any


def loads_exactly(data: str | bytes) -> Any:
    """``data`` parsed as JSON with every non-integer number a :class:`decimal.Decimal`; raises ValueError
    (json.JSONDecodeError, UnicodeDecodeError) for a body that is not JSON."""
    return json.loads(data, parse_float=decimal.Decimal)
