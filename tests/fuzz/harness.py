"""What the fuzz tests share: the schema the app serves (loaded in-process over WSGI), the
check that every 4xx is a problem document, and the ids of the fleet's records that
generated path parameters are mixed with."""

import os

import schemathesis
from hypothesis import strategies as st

from config.wsgi import application
from core.problems import PROBLEM_CONTENT_TYPE

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",  # the same cases every run; nothing saved between runs
            # The test sends its own credentials; generated ones would only replace them.
            "with-security-parameters": False,
        },
        "checks": {
            # Business rules refuse some schema-valid input by design (a job that is not
            # registered is 400, an empty filter means "no filter"), so the two checks that
            # equate "valid per schema" with "accepted" would report the rules, not bugs.
            "positive_data_acceptance": {"enabled": False},
            "negative_data_rejection": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)

# Ids of the fleet's records by the path they are looked up under; set by the fixture.
KNOWN_IDS: dict[str, list] = {}


def known_ids(path: str) -> list:
    """The fleet's ids that ``path`` (an operation's path template) looks up."""
    for prefix, values in KNOWN_IDS.items():
        if path.startswith(prefix):
            return values
    return []


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    path = context.operation.path
    if not path_parameters or len(path_parameters) != 1:
        return st.just(path_parameters)
    values = known_ids(path)
    if values:
        (name,) = path_parameters
        known = st.sampled_from(values).map(lambda value, name=name: {name: value})
        return st.one_of(st.just(path_parameters), known)
    return st.just(path_parameters)


@schemathesis.check
def problem_document(ctx, response, case):
    """Every 4xx is an RFC 9457 problem document."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith(PROBLEM_CONTENT_TYPE), (
        f"{response.status_code} answered with Content-Type {content_type!r}"
    )
    body = response.json()
    missing = sorted({"type", "title", "status"} - set(body))
    assert not missing, f"problem document without {missing}"
    assert body["status"] == response.status_code, "status member differs from the status"
    return True
