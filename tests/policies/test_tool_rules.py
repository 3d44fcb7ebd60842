"""Tool rules in the versioned policy (issue 14): the seeded rules read agents' tool calls as
ladder actions; a rule whose pattern does not compile or whose example disagrees is refused
when saved, naming the rule, by the model, the API and the console form alike."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from policies import ladder
from policies.exceptions import InvalidPolicyChange
from policies.models import PolicyDecision, WorkerPolicy
from policies.selectors import policy_current
from policies.tool_rules import default_tool_rules, read_call, rules_problems
from tests.factories import policy_set

CURRENT = "/api/v1/worker-policy/current"


def reading(command: str, tool: str = "Bash") -> tuple[str, str]:
    found = read_call(
        default_tool_rules(), "diagnose", tool_name=tool, tool_input={"command": command}
    )
    return found.action, found.target


def rule(**fields) -> dict:
    return {
        "name": "deploys",
        "tool": "Bash",
        "input": r"\bdeploy\s+(?P<target>\S+)",
        "action": "rerun_pipeline",
        "target": "target",
        "must_match": ["deploy web"],
        "must_not_match": ["echo deploy"],
        **fields,
    }


def test_the_seeded_rules_and_their_examples_agree():
    assert rules_problems(default_tool_rules(), ladder.KNOWN_ACTIONS) == []


@pytest.mark.parametrize(
    ("command", "action", "target"),
    [
        ("git push --force origin main", "force_push", ""),
        ("git push -f", "force_push", ""),
        ("git push origin main", "diagnose", ""),
        ("rm -rf /var/lib/app", "delete_resource", "/var/lib/app"),
        ("rm -rf node_modules", "diagnose", ""),
        ("psql -c 'DROP TABLE users'", "delete_resource", "users"),
        ("kubectl delete pod web-1", "delete_resource", "web-1"),
        ("docker rm -f web-1", "delete_resource", "web-1"),
        ("docker restart momo-db", "restart_service", "momo-db"),
        ("docker compose restart web", "restart_service", "web"),
        ("sudo systemctl stop nginx", "restart_service", "nginx"),
        ("kubectl rollout restart deployment/api", "restart_service", "deployment/api"),
        ("ls -la", "diagnose", ""),
        ("npm test", "diagnose", ""),
    ],
)
def test_the_seeded_rules_read_shell_commands(command, action, target):
    assert reading(command) == (action, target)


@pytest.mark.parametrize("tool", ["Grep", "Read", "read_file", "list_dir"])
def test_read_only_tools_are_observing(tool):
    found = read_call(default_tool_rules(), "propose", tool_name=tool, tool_input={"path": "a"})

    assert (found.rule, found.action) == ("read-only tools", "diagnose")


def test_a_call_no_rule_matches_is_judged_as_the_tool_default():
    found = read_call([], "propose", tool_name="Bash", tool_input={"command": "make"})

    assert (found.rule, found.action, found.target) == ("tool_default", "propose", "")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"input": "deploy (unclosed"}, "does not compile"),
        ({"must_match": ["ship web"]}, "'ship web' should match"),
        ({"must_not_match": ["deploy api"]}, "'deploy api' should not match"),
        ({"action": "launch"}, "not a ladder action"),
        ({"target": "service"}, "no group named 'service'"),
    ],
)
def test_the_model_refuses_a_bad_rule_naming_it(db, changes, named):
    policy = WorkerPolicy(version=99, tool_rules=[rule(**changes)])

    with pytest.raises(ValidationError) as refused:
        policy.full_clean()

    message = " ".join(refused.value.message_dict["tool_rules"])
    assert "Tool rule 'deploys'" in message and named in message


def test_the_service_refuses_a_bad_rule_and_writes_no_version(db):
    with pytest.raises(InvalidPolicyChange, match=r"Tool rule 'deploys'.*does not compile"):
        policy_set(tool_rules=[rule(input="(")])

    assert WorkerPolicy.objects.count() == 1


def test_the_api_answers_a_problem_naming_the_rule(owner, session_client):
    client = session_client(owner)
    policy_id = client.get(CURRENT).json()["id"]

    response = client.patch(
        f"/api/v1/worker-policy/{policy_id}",
        {"tool_rules": [rule(must_match=["ship web"])], "rationale": "deploys need approval"},
        format="json",
    )

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert "Tool rule 'deploys': the example 'ship web' should match." in str(response.json())
    assert WorkerPolicy.objects.count() == 1


def test_a_rule_change_is_a_new_version_with_the_rules_in_its_diff(owner, session_client):
    client = session_client(owner)
    policy_id = client.get(CURRENT).json()["id"]
    rules = [rule(), *default_tool_rules()]

    response = client.patch(
        f"/api/v1/worker-policy/{policy_id}",
        {"tool_rules": rules, "tool_default": "propose", "rationale": "deploys need approval"},
        format="json",
    )

    assert response.status_code == 200, response.content
    current = policy_current()
    assert current.tool_rules[0]["name"] == "deploys" and current.tool_default == "propose"
    changes = PolicyDecision.objects.get(policy_after=current).changes
    assert changes["tool_rules"] == [default_tool_rules(), rules]
    assert changes["tool_default"] == ["diagnose", "propose"]
    assert client.get(CURRENT).json()["tool_rules"][0]["name"] == "deploys"


def test_the_console_form_shows_the_error_on_the_rules(client, owner):
    page = reverse("admin:policies_workerpolicy_change_policy")
    client.force_login(owner)
    form = client.get(page).context["form"]
    data = {name: form[name].value() for name in form.fields}

    response = client.post(
        page,
        {**data, "tool_rules": json.dumps([rule(input="(")]), "rationale": "x"},
    )

    errors = response.context["form"].errors["tool_rules"]
    assert any("Tool rule 'deploys'" in error for error in errors), errors
    assert WorkerPolicy.objects.count() == 1


def test_the_simulation_replays_recorded_tool_calls_through_draft_rules(
    owner, session_client, worker_client
):
    for command in ("ls", "docker restart web-1", "make deploy"):
        body = {"tool_name": "Bash", "tool_input": {"command": command}}
        assert worker_client.post("/api/v1/tool-verdicts", body, format="json").status_code == 200
    draft = {
        "tool_rules": [
            rule(input=r"\bdeploy\b", target="", must_match=["make deploy"], must_not_match=[])
        ],
        "tool_default": "propose",
    }

    result = session_client(owner).post(
        "/api/v1/worker-policy/simulate", {"policy": draft, "days": 1}, format="json"
    )

    assert result.status_code == 200, result.content
    calls = result.json()["tool_calls"]
    assert calls["calls_considered"] == 3 and calls["truncated"] is False
    assert calls["actual"] == {"allowed": 2, "needs_approval": 1}
    assert calls["simulated"] == {"allowed": 2, "needs_approval": 1}
    changes = {change["change"]: change for change in calls["changed"]}
    assert set(changes) == {"allowed → needs_approval", "needs_approval → allowed"}
    example = changes["allowed → needs_approval"]["examples"][0]
    assert example["tool_input"] == {"command": "make deploy"}
    assert example["simulated"] == "needs_approval (deploys: rerun_pipeline)"


def test_the_console_preview_shows_the_tool_calls_that_would_change(client, owner, worker_client):
    body = {"tool_name": "Bash", "tool_input": {"command": "ls"}}
    worker_client.post("/api/v1/tool-verdicts", body, format="json")
    page = reverse("admin:policies_workerpolicy_change_policy")
    client.force_login(owner)
    form = client.get(page).context["form"]
    data = {name: form[name].value() for name in form.fields}
    data["tool_rules"] = json.dumps(
        [rule(tool="Bash", input="^ls", target="", must_match=["ls"], must_not_match=[])]
    )

    response = client.post(page, {**data, "rationale": "ls is a deploy here", "_preview": "1"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "allowed → needs approval: 1" in content  # the page shows the labels
    assert "deploys: rerun_pipeline" in content
