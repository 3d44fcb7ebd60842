from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination


class NewestFirst(CursorPagination):
    """Cursor pages, newest first: stable while new rows arrive, and cheap at any depth.

    A cursor the API did not hand out is a 400 pointing at ``cursor``. DRF answers an
    undecodable one with 404 and passes a decodable one's position into the query unchecked,
    so base64 of ``p=not-a-number`` was a 500 on every list.
    """

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):  # type: ignore[no-untyped-def]
        # The position is a value of the ordering's field; its own rules say what is valid.
        self.position_field = queryset.model._meta.get_field(self.ordering.lstrip("-"))
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request) -> Cursor | None:  # type: ignore[no-untyped-def]
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                self.position_field.clean(cursor.position, None)
        except (NotFound, DjangoValidationError):
            raise ValidationError(
                {"cursor": [_("Invalid cursor: use the next or previous link of a page.")]}
            ) from None
        return cursor
