from django.urls import path

from policies import api

urlpatterns = [
    path("worker-policy/current", api.PolicyCurrentApi.as_view(), name="policy-current"),
    path("worker-policy/simulate", api.PolicySimulateApi.as_view(), name="policy-simulate"),
    path("worker-policy/<int:pk>", api.PolicyVersionApi.as_view(), name="policy-version"),
    path("proposals", api.ProposalListApi.as_view(), name="proposals"),
    path("proposals/<int:pk>", api.ProposalDetailApi.as_view(), name="proposal"),
    path("proposals/<int:pk>/decide", api.ProposalDecideApi.as_view(), name="proposal-decide"),
    path("policy-decisions", api.DecisionListApi.as_view(), name="policy-decisions"),
]
