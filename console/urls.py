from django.urls import path

from console.audit import AuditTrailApi
from console.chat.views import channel_interactions

urlpatterns = [
    path("audit-trail", AuditTrailApi.as_view(), name="audit-trail"),
    path("channels/<int:pk>/interactions", channel_interactions, name="channel-interactions"),
]
