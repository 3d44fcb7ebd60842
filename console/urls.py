from django.urls import path

from console.audit import AuditTrailApi

urlpatterns = [
    path("audit-trail", AuditTrailApi.as_view(), name="audit-trail"),
]
