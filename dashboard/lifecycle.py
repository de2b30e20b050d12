"""Lifecycle states a marketer can act on, from the churn model's per-customer outputs.

Every customer with a valid order is in exactly one state (docs/churn.md, "Lifecycle states"):

- ``active``: a repeat customer not yet past their expected next order date: ordering as expected.
- ``slipping``: a repeat customer past their expected next order date, but not lapsed: overdue against their own
  rhythm yet still likely active, the window where win-back works.
- ``new``: a first-time buyer not yet past the date a second order is expected.
- ``one_time``: a first-time buyer past that date, not lapsed: "bought once, has not come back yet".
- ``lapsed``: probably gone: the model's P(alive) has fallen below half of what it was right after their last
  order (the customer's "activity half-life" has passed).

The thresholds come from the model: the expected next order date is the last purchase day plus the customer's
expected gap, (alpha + t_x) / (r + x) model days (the reciprocal of their posterior purchase rate as it stood at
their last order; for a one-time buyer alpha / r, the population's); P(alive) right after the last order is
1 / (1 + a / (b + x)) under the MBG/NBD. Without a fitted model (thin data) nobody is called lapsed, because
nothing says who is gone; without dropout (the NBD limit) nobody is either.

Pure numpy: no DuckDB, no Streamlit.
"""

from __future__ import annotations

import numpy as np

STATES = ("active", "slipping", "new", "one_time", "lapsed")
STATE_LABELS = {
    "active": "Active",
    "slipping": "Slipping",
    "new": "New",
    "one_time": "One-time buyer",
    "lapsed": "Lapsed",
}
STATE_DESCRIPTIONS = {
    "active": "Repeat customers ordering as expected: not yet past their expected next order date.",
    "slipping": "Repeat customers past their expected next order date but still likely active: the window where "
                "win-back works.",
    "new": "First-time buyers not yet past the date a second order is expected.",
    "one_time": "First-time buyers past the date a second order is expected who are still likely active.",
    "lapsed": "Probably gone: the chance they are still active has fallen below half of what it was right after "
              "their last order.",
}
LAPSED_SHARE_OF_START = 0.5  # lapsed when P(alive) < this x P(alive) right after the last order
DEFAULT_WINBACK_STATES = ("slipping",)


def states(frequency, p_alive, p_alive_after_last_order, is_overdue) -> np.ndarray:
    """The lifecycle state of each customer (an array of ``STATES`` values).

    ``frequency``: repeat purchase days; ``p_alive`` and ``p_alive_after_last_order``: NaN when there is no model
    (then nobody is lapsed); ``is_overdue``: the as-of date is past the expected next order date.
    Example: ``states([3, 0], [0.9, 0.1], [0.95, 0.6], [False, True])`` -> ['active', 'lapsed'].
    """
    x = np.asarray(frequency, dtype=float)
    alive = np.asarray(p_alive, dtype=float)
    start = np.asarray(p_alive_after_last_order, dtype=float)
    overdue = np.asarray(is_overdue, dtype=bool)
    lapsed = np.isfinite(alive) & np.isfinite(start) & (alive < LAPSED_SHARE_OF_START * start)
    repeat = x > 0
    return np.select(
        [lapsed, repeat & ~overdue, repeat & overdue, ~overdue],
        ["lapsed", "active", "slipping", "new"],
        "one_time",
    ).astype(object)
