import django_filters
from django.conf import settings
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from artifacts.fetch import scheme_refusal
from artifacts.models import ArtifactGateCheck
from artifacts.selectors import artifact_check_latest, artifact_check_list
from artifacts.services import artifact_check_submit, artifact_guard_job_complete
from core.exports import ExportableList
from core.idempotency import idempotent
from core.openapi import request_examples
from core.pagination import NewestFirst
from core.permissions import RolePermissions
from repairs.api.jobs import ActsAsWorker, JobOutput
from repairs.exceptions import JobNotFound
from repairs.models import Job
from repairs.selectors import worker_for_user

_URL_MAX = 2000  # the model's column
_valid_url = URLValidator(schemes=["http", "https"])


class ArtifactUrlField(serializers.CharField):
    """An http(s) URL the server may fetch: refused here, with the reason, if it is not."""

    def __init__(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(max_length=_URL_MAX, **kwargs)

    def to_internal_value(self, data: object) -> str:
        url = super().to_internal_value(data)
        refusal = scheme_refusal(url)
        if refusal is not None:
            raise serializers.ValidationError(
                _("Refused: %(refusal)s.") % {"refusal": refusal}, code="scheme"
            )
        try:
            _valid_url(url)
        except Exception as invalid:  # Django's ValidationError
            raise serializers.ValidationError(_("Enter a valid http(s) URL.")) from invalid
        if "@" in (url.split("//", 1)[1].split("/", 1)[0]):
            # The URL would be stored and shown with the password in it.
            raise serializers.ValidationError(
                _("Credentials in the URL are refused: an artifact must open without them."),
                code="credentials",
            )
        return url


class UploadFileInput(serializers.Serializer):
    url = ArtifactUrlField()
    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="Hex SHA-256 the whole body must hash to (optional)",
        error_messages={"invalid": "Give the SHA-256 as 64 hex digits."},
    )


@request_examples(
    (
        _("A page and a build with its hash"),
        {
            "job": "PLS-142",
            "primary_url": "https://preview.example.com/PLS-142/",
            "upload_files": [
                {
                    "url": "https://artifacts.example.com/PLS-142/app.zip",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                }
            ],
        },
    ),
)
class ArtifactCheckInput(serializers.Serializer):
    job = serializers.CharField(max_length=200, help_text="The job's external id")
    primary_url = ArtifactUrlField(help_text="Must answer exactly 200")
    upload_files = serializers.ListField(
        child=UploadFileInput(),
        required=False,
        default=list,
        help_text="Each must answer 200, and hash to its sha256 when one is given",
    )

    def validate_upload_files(self, value: list) -> list:
        if len(value) > settings.ARTIFACT_MAX_UPLOADS:
            raise serializers.ValidationError(
                _("At most %(count)s upload files per check.")
                % {"count": settings.ARTIFACT_MAX_UPLOADS}
            )
        return value


class UrlResultOutput(serializers.Serializer):
    url = serializers.CharField()
    role = serializers.ChoiceField(choices=["primary", "upload"])
    status_code = serializers.IntegerField(allow_null=True)
    final_url = serializers.CharField()
    latency_ms = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    content_type = serializers.CharField()
    bytes_read = serializers.IntegerField()
    truncated = serializers.BooleanField()
    sha256 = serializers.CharField(allow_null=True)
    expected_sha256 = serializers.CharField(allow_null=True)
    redirects = serializers.ListField(child=serializers.CharField())
    passed = serializers.BooleanField()
    error = serializers.CharField()
    error_class = serializers.CharField()


class ArtifactCheckOutput(serializers.Serializer):
    id = serializers.IntegerField()
    job = serializers.CharField(source="job.external_id")
    worker = serializers.CharField(source="worker.name")
    status = serializers.ChoiceField(choices=ArtifactGateCheck.Status.choices)
    primary_url = serializers.CharField()
    upload_files = serializers.ListField(child=serializers.DictField())
    # Plain JSON as stored: the shape is UrlResultOutput's.
    results = serializers.ListField(child=serializers.DictField())
    reason = serializers.CharField()
    failing_url = serializers.CharField(allow_null=True, default=None)
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: ArtifactGateCheck) -> dict:
        data = super().to_representation(instance)
        data["failing_url"] = instance.failing_url or None
        return data


class ArtifactCheckFilter(django_filters.FilterSet):
    job = django_filters.CharFilter(field_name="job__external_id")
    status = django_filters.ChoiceFilter(choices=ArtifactGateCheck.Status.choices)
    worker = django_filters.CharFilter(field_name="worker__name")

    class Meta:
        model = ArtifactGateCheck
        fields = ["job", "status", "worker"]


class ArtifactCheckListCreateApi(ExportableList):
    """Workers submit artifact checks of the jobs they hold; a Celery task runs them. The
    list is also exported as NDJSON or CSV (``?format=ndjson`` / ``?format=csv``)."""

    export_name = "artifact-gate-checks"

    permission_classes = [RolePermissions]
    serializer_class = ArtifactCheckOutput
    filterset_class = ArtifactCheckFilter
    pagination_class = NewestFirst
    queryset = ArtifactGateCheck.objects.none()  # for RolePermissions' model lookup

    def get_queryset(self):
        return artifact_check_list(user=self.request.user)

    @extend_schema(request=ArtifactCheckInput, responses={202: ArtifactCheckOutput})
    @idempotent
    def post(self, request: Request) -> Response:
        worker = worker_for_user(request.user)
        if worker is None:
            raise exceptions.PermissionDenied(_("Only workers submit artifact checks."))
        payload = ArtifactCheckInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        job = Job.objects.filter(external_id=data["job"]).first()
        if job is None:
            raise exceptions.ValidationError(
                {
                    "job": [
                        _("No job with external id %(job)s; register it first.")
                        % {"job": repr(data["job"])}
                    ]
                }
            )
        check = artifact_check_submit(
            worker=worker,
            job=job,
            primary_url=data["primary_url"],
            upload_files=[dict(item) for item in data["upload_files"]],
        )
        return Response(
            ArtifactCheckOutput(check).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/artifact-gate-checks/{check.pk}"},
        )


class ArtifactCheckDetailApi(generics.RetrieveAPIView):
    """Poll one check (a worker: only its own; another's is 404)."""

    permission_classes = [RolePermissions]
    serializer_class = ArtifactCheckOutput
    queryset = ArtifactGateCheck.objects.none()

    def get_queryset(self):
        return artifact_check_list(user=self.request.user)


class JobCompleteOutput(JobOutput):
    artifact_check = serializers.SerializerMethodField(
        help_text="The passed check that let the job complete"
    )

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_artifact_check(self, job: Job) -> int | None:
        latest = artifact_check_latest(job=job)
        return latest.pk if latest else None


class JobCompleteApi(APIView):
    """The holder completes its job, only if the job's latest artifact check passed
    (otherwise 409 ``artifact_guard`` with the reason)."""

    permission_classes = [ActsAsWorker]

    @extend_schema(request=None, responses={200: JobCompleteOutput})
    @idempotent
    def post(self, request: Request, external_id: str) -> Response:
        job = Job.objects.filter(external_id=external_id).first()
        if job is None:
            raise JobNotFound(
                _("No job with external id %(job)s.") % {"job": repr(external_id)},
                job=external_id,
            )
        completed = artifact_guard_job_complete(job=job, worker=worker_for_user(request.user))
        return Response(JobCompleteOutput(completed).data)
