"""Query filters the API's list views share."""

from datetime import UTC, datetime

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, compared in UTC.

    Python accepts UTC offsets up to ±23:59 but PostgreSQL only up to ±15:59, and a query
    carrying the offset as given failed with a 500 (``since=2026-01-01T00:00:00-21:21``).
    In UTC the database never sees an offset; one that leaves the calendar (year 1 or 9999
    shifted past its end) is an invalid date-time like any other.
    """

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
