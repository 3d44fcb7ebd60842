"""The console's governance screens: policy versions and the page that changes the policy
(with its simulation preview), proposals and their decisions, and the decision records.

Everything here reads through selectors and writes through ``policies.services``; the
rules of a valid change are ``policies.api``'s serializers, shared with the API.
"""

from policies.admin import policy_versions, proposals  # noqa: F401  (registers the admins)
