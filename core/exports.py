"""Exports: any list as NDJSON or CSV, streamed in constant memory.

One mechanism for the API and the console. ``export_response`` reads a queryset newest first
in chunks of ``chunk_size`` rows (keyset pagination on the primary key: each chunk is its own
short query, so no cursor or transaction stays open while a slow client reads), renders
each chunk with the list's own serializer and streams it out. Memory holds one chunk,
whatever the number of rows.

- ``ExportableList`` on a DRF list view answers ``?format=ndjson`` and ``?format=csv`` with
  the view's filters, permissions and serializer.
- ``core.admin.ExportableAdmin`` offers the same from a console changelist, with the
  changelist's filters.

Text is redacted when it is stored, so an export carries nothing the list would not show.
CSV cells that a spreadsheet would run as a formula (a leading ``=``, ``+``, ``-``, ``@``,
tab or carriage return) get a leading ``'``.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from rest_framework import generics
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, Serializer

NDJSON = "ndjson"
CSV = "csv"
FORMATS = (NDJSON, CSV)
CONTENT_TYPES = {NDJSON: "application/x-ndjson", CSV: "text/csv; charset=utf-8"}
CHUNK_SIZE = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Serialize = Callable[[Sequence[Model]], Iterable[dict[str, Any]]]


def keyset_chunks(queryset: QuerySet, *, chunk_size: int = CHUNK_SIZE) -> Iterator[list[Model]]:
    """``queryset``'s rows, newest (highest primary key) first, ``chunk_size`` at a time."""
    ordered = queryset.order_by("-pk")
    last = None
    while True:
        page = ordered if last is None else ordered.filter(pk__lt=last)
        rows = list(page[:chunk_size])
        if not rows:
            return
        yield rows
        if len(rows) < chunk_size:
            return
        last = rows[-1].pk


def columns_of(serializer: BaseSerializer) -> list[str]:
    """A CSV export's columns: the fields of the serializer that renders its rows."""
    if not isinstance(serializer, Serializer):
        raise TypeError(f"{type(serializer).__name__} declares no fields to export")
    return list(serializer.fields)


def csv_cell(value: Any) -> str:
    """One CSV cell: nested values as JSON, nothing as empty, text safe from formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def ndjson_stream(chunks: Iterable[Sequence[Model]], serialize: Serialize) -> Iterator[bytes]:
    encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
    for chunk in chunks:
        yield "".join(encoder.encode(row) + "\n" for row in serialize(chunk)).encode()


def csv_stream(
    chunks: Iterable[Sequence[Model]], serialize: Serialize, columns: Sequence[str]
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for chunk in chunks:
        for row in serialize(chunk):
            writer.writerow([csv_cell(row.get(column)) for column in columns])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def export_response(
    queryset: QuerySet,
    *,
    fmt: str,
    serialize: Serialize,
    columns: Sequence[str],
    name: str,
    chunk_size: int = CHUNK_SIZE,
) -> StreamingHttpResponse:
    """Streams ``queryset`` as ``fmt`` (``ndjson`` or ``csv``), each row as ``serialize``
    renders it, in a file named after ``name`` and the time."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    chunks = keyset_chunks(queryset, chunk_size=chunk_size)
    body = (
        ndjson_stream(chunks, serialize)
        if fmt == NDJSON
        else csv_stream(chunks, serialize, columns)
    )
    response = StreamingHttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class _ExportRenderer(BaseRenderer):
    """Stands for an export format in DRF's content negotiation; the export itself is
    streamed by ``ExportableList.list``, so this renders only what never is an export."""

    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return JSONRenderer().render(data, accepted_media_type, renderer_context)


class NDJSONRenderer(_ExportRenderer):
    media_type = "application/x-ndjson"
    format = NDJSON


class CSVRenderer(_ExportRenderer):
    media_type = "text/csv"
    format = CSV


class ExportableList(generics.ListAPIView):
    """A DRF ``ListAPIView`` whose ``?format=ndjson`` or ``?format=csv`` streams every row
    the list's filters select (no pages), rendered by the list's serializer.

    ``export_name`` names the file; ``export_queryset`` may add the joins a whole export
    needs (``select_related``) where a page of 50 did not. The export formats take part in
    content negotiation only when asked for by ``?format=``, so the JSON list stays the
    default and the API schema documents the JSON list.
    """

    export_name = "export"
    export_chunk_size = CHUNK_SIZE

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        fmt = request.query_params.get("format")
        for renderer in (NDJSONRenderer(), CSVRenderer()):
            if fmt == renderer.format:
                return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def export_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset

    # DRF's stubs type a list's answer as Response; an export is a StreamingHttpResponse,
    # which DRF's dispatch passes through as any HttpResponseBase.
    def list(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        fmt = getattr(request.accepted_renderer, "format", None)
        if fmt not in FORMATS:
            return super().list(request, *args, **kwargs)
        queryset = self.export_queryset(self.filter_queryset(self.get_queryset()))
        return export_response(
            queryset,
            fmt=fmt,
            serialize=lambda rows: self.get_serializer(rows, many=True).data,
            columns=columns_of(self.get_serializer()),
            name=self.export_name,
            chunk_size=self.export_chunk_size,
        )

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        # A refusal asked for as CSV is still a problem document (JSON).
        if isinstance(response, Response) and isinstance(
            request.accepted_renderer, _ExportRenderer
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
