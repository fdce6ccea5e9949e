"""The full-marks rule of `graders.marks`, as a filter the database can apply.

It lives in catalog, the lowest layer that asks "passed?" in SQL, so that catalog and
every layer above it filter with the same floor as `graders.is_full_marks` in Python.
"""

from django.db.models import F, FloatField, Q, Value
from django.db.models.functions import Greatest

from graders.marks import FULL_MARKS_TOLERANCE


def full_marks_q(score_field: str = "score", max_field: str = "max_score") -> Q:
    """Rows whose score is full marks out of a positive maximum, as `is_full_marks` says.

    The floor is computed in the same order as `full_marks_floor` (tolerance times
    greatest(1, max), then subtracted), so both sides round alike and agree at the edge.
    """
    maximum = F(max_field)
    slack = Value(FULL_MARKS_TOLERANCE, output_field=FloatField()) * Greatest(
        Value(1.0, output_field=FloatField()), maximum
    )
    return Q(**{f"{max_field}__gt": 0, f"{score_field}__gte": maximum - slack})
