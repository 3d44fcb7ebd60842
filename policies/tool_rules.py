"""Tool rules (issue 14): how an agent's tool call is read as a ladder action. Pure: no
settings, no database; the policy holds the rules and the ladder judges what they yield.

A rule is a JSON object in the policy's ordered ``tool_rules`` list::

    {"name": "git force push",            # unique; the verdict names it
     "tool": "Bash|shell|exec_command",   # regex, matched against the whole tool name
     "input": "\\bgit\\s+push\\b.*--force", # regex, searched in the call's subject ("" = any)
     "action": "force_push",              # a ladder action
     "target": "target",                  # the named group of "input" that holds the target
     "must_match": ["git push --force"],  # subjects "input" must find
     "must_not_match": ["git push"]}      # subjects it must not find

The subject of a call is its command (a list is joined with spaces), else its file path,
path, URL or query. The first rule whose tool and input patterns match decides; a call no
rule matches is judged as the policy's ``tool_default`` action.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

RULE_KEYS = ("name", "tool", "input", "action", "target", "must_match", "must_not_match")
# Where a call's subject is read from, in this order.
SUBJECT_KEYS = ("command", "cmd", "file_path", "notebook_path", "path", "url", "query", "sql")
DEFAULT_RULE = "tool_default"
SHELL = r"Bash|shell|exec_command|local_shell|container\.exec"


class InvalidToolRule(ValueError):
    """A rule that cannot be saved; the message names it."""


@dataclass(frozen=True)
class ToolReading:
    """What a tool call was read as: the rule that matched (``tool_default`` for none), the
    ladder action and the target it names."""

    rule: str
    action: str
    target: str


def subject_of(tool_input: Mapping[str, Any]) -> str:
    """The text a rule's input pattern is searched in: the command, path, URL or query."""
    for key in SUBJECT_KEYS:
        value = tool_input.get(key)
        if isinstance(value, list):
            value = " ".join(str(part) for part in value)
        if isinstance(value, str) and value:
            return value
    return ""


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def rule_problems(rule: Any, known_actions: Sequence[str]) -> list[str]:
    """What is wrong with one rule, in words that name it; [] for a good rule."""
    if not isinstance(rule, dict):
        return [_("A tool rule must be an object, not %(type)s.") % {"type": type(rule).__name__}]
    name = rule.get("name")
    if not isinstance(name, str) or not name.strip():
        return [_("Every tool rule needs a name.")]
    problems = []
    unknown = sorted(set(rule) - set(RULE_KEYS))
    if unknown:
        problems.append(
            _("Tool rule %(name)s: unknown keys %(keys)s.")
            % {"name": repr(name), "keys": ", ".join(unknown)}
        )
    if rule.get("action") not in known_actions:
        problems.append(
            _("Tool rule %(name)s: action %(action)s is not a ladder action.")
            % {"name": repr(name), "action": repr(rule.get("action"))}
        )
    patterns = {}
    for key in ("tool", "input"):
        pattern = rule.get(key, "")
        if not isinstance(pattern, str):
            problems.append(
                _("Tool rule %(name)s: %(key)s must be a regular expression string.")
                % {"name": repr(name), "key": key}
            )
            continue
        try:
            patterns[key] = _compiled(pattern)
        except re.error as exc:
            problems.append(
                _("Tool rule %(name)s: the %(key)s pattern does not compile (%(error)s).")
                % {"name": repr(name), "key": key, "error": exc}
            )
    target = rule.get("target", "")
    if not isinstance(target, str):
        problems.append(
            _("Tool rule %(name)s: target must name a group of the input pattern.")
            % {"name": repr(name)}
        )
    elif target and "input" in patterns and target not in patterns["input"].groupindex:
        problems.append(
            _("Tool rule %(name)s: the input pattern has no group named %(target)s.")
            % {"name": repr(name), "target": repr(target)}
        )
    if "input" in patterns:
        problems += _example_problems(name, rule, patterns["input"])
    return problems


def _example_problems(name: str, rule: dict, pattern: re.Pattern[str]) -> list[str]:
    problems = []
    for key, wanted in (("must_match", True), ("must_not_match", False)):
        examples = rule.get(key, [])
        if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
            problems.append(
                _("Tool rule %(name)s: %(key)s must be a list of strings.")
                % {"name": repr(name), "key": key}
            )
            continue
        for example in examples:
            if bool(pattern.search(example)) != wanted:
                should = (
                    _("Tool rule %(name)s: the example %(example)s should match.")
                    if wanted
                    else _("Tool rule %(name)s: the example %(example)s should not match.")
                )
                problems.append(should % {"name": repr(name), "example": repr(example)})
    return problems


def rules_problems(rules: Any, known_actions: Sequence[str]) -> list[str]:
    """Every problem of an ordered rule list: each rule's, and names used twice."""
    if not isinstance(rules, list):
        return [_("tool_rules must be a list of rules.")]
    problems = []
    seen: set[str] = set()
    for rule in rules:
        problems += rule_problems(rule, known_actions)
        name = rule.get("name") if isinstance(rule, dict) else None
        if isinstance(name, str):
            if name in seen:
                problems.append(_("Tool rule %(name)s is named twice.") % {"name": repr(name)})
            seen.add(name)
    return problems


def read_call(
    rules: Iterable[dict], default_action: str, *, tool_name: str, tool_input: Mapping[str, Any]
) -> ToolReading:
    """The first rule matching the call, as the action and target it names; the policy's
    ``tool_default`` when none does. The rules are assumed valid (checked when saved)."""
    subject = subject_of(tool_input)
    for rule in rules:
        if not _compiled(rule["tool"]).fullmatch(tool_name):
            continue
        found = _compiled(rule.get("input", "")).search(subject)
        if found is None:
            continue
        group = rule.get("target", "")
        target = (found.group(group) or "") if group else ""
        return ToolReading(rule["name"], rule["action"], target.strip("'\""))
    return ToolReading(DEFAULT_RULE, default_action, "")


def _rule(
    name: str, tool: str, pattern: str, action: str, target: str, yes: list, no: list
) -> dict:
    return {
        "name": name,
        "tool": tool,
        "input": pattern,
        "action": action,
        "target": target,
        "must_match": yes,
        "must_not_match": no,
    }


_SERVICE = r"(?:\s+-{1,2}[\w-]+(?:=\S+)?)*\s+(?P<target>[^\s;&|-][^\s;&|]*)"


def default_tool_rules() -> list[dict]:
    """The seeded rules: force pushes, deletes, service restarts and read-only calls."""
    return [
        _rule(
            "git force push",
            SHELL,
            r"\bgit\s+push\b[^;&|]*\s(?:--force(?:-with-lease)?(?:=\S*)?|-f)(?=\s|$)",
            "force_push",
            "",
            ["git push --force origin main", "git push -f", "git push origin main --force"],
            ["git push origin main", "git push --follow-tags", "git fetch -f"],
        ),
        _rule(
            "recursive delete outside the working directory",
            SHELL,
            r"\brm\s+(?:-\S+\s+)*(?:-[a-zA-Z]*[rR][a-zA-Z]*|--recursive)\s+(?:-\S+\s+)*"
            r"(?P<target>(?:/|~|\.\.|\$HOME|\*)\S*)",
            "delete_resource",
            "target",
            ["rm -rf /", "rm -rf ~/projects", "sudo rm -r -f ../other", "rm -fr /var/lib/app"],
            ["rm -rf node_modules", "rm -rf ./build", "rm /tmp/file", "rm -f /tmp/example"],
        ),
        _rule(
            "drop a database or table",
            ".*",
            r"(?i)\bdrop\s+(?:database|table|schema)\s+(?:if\s+exists\s+)?(?P<target>[\w.\"`-]+)",
            "delete_resource",
            "target",
            ["DROP DATABASE orders", "psql -c 'drop table if exists users'"],
            ["SELECT * FROM drops", "dropdb --help"],
        ),
        _rule(
            "kubectl delete",
            SHELL,
            r"\bkubectl\b[^;&|]*\sdelete\s+(?:-\S+\s+)*(?:[\w.-]+\s+)?(?P<target>[^\s;&|-]\S*)",
            "delete_resource",
            "target",
            ["kubectl delete pod web-1", "kubectl -n prod delete deployment/api"],
            ["kubectl get pods", "kubectl describe pod delete-me"],
        ),
        _rule(
            "docker rm",
            SHELL,
            r"\bdocker\s+(?:container\s+|volume\s+|image\s+)?(?:rm|rmi|prune)\b(?:\s+-\S+)*"
            r"(?:\s+(?P<target>[^\s;&|-]\S*))?",
            "delete_resource",
            "target",
            ["docker rm -f web-1", "docker volume rm data", "docker container rm api"],
            ["docker ps", "docker restart web-1"],
        ),
        _rule(
            "docker compose restart or stop",
            SHELL,
            r"\bdocker[\s-]compose\b[^;&|]*?\s(?:restart|stop|kill|down)\b(?:" + _SERVICE + ")?",
            "restart_service",
            "target",
            ["docker compose restart web", "docker-compose -f prod.yml stop worker"],
            ["docker compose ps", "docker compose logs web"],
        ),
        _rule(
            "docker restart or stop",
            SHELL,
            r"\bdocker\s+(?:container\s+)?(?:restart|stop|kill)" + _SERVICE,
            "restart_service",
            "target",
            ["docker restart momo-db", "docker stop --time=5 web-1", "docker container kill api"],
            ["docker ps", "docker logs web-1"],
        ),
        _rule(
            "systemctl restart or stop",
            SHELL,
            r"\bsystemctl\s+(?:--?[\w-]+\s+)*(?:restart|stop|kill|try-restart|reload-or-restart)"
            + _SERVICE,
            "restart_service",
            "target",
            ["sudo systemctl restart nginx", "systemctl --user stop app.service"],
            ["systemctl status nginx", "systemctl list-units"],
        ),
        _rule(
            "kubectl rollout restart",
            SHELL,
            r"\bkubectl\b[^;&|]*\srollout\s+restart" + _SERVICE,
            "restart_service",
            "target",
            ["kubectl rollout restart deployment/web", "kubectl -n prod rollout restart api"],
            ["kubectl rollout status deployment/web"],
        ),
        _rule(
            "read-only tools",
            # Claude Code's and Codex's tools that read, search or list files.
            r"Read|Grep|Glob|LS|NotebookRead|read_file|list_dir|grep_files|view_image",
            "",
            "diagnose",
            "",
            ["/home/user/my-project/README.md", ""],
            [],
        ),
        _rule(
            "read-only shell",
            SHELL,
            r"^\s*(?:ls|cat|head|tail|wc|pwd|grep|rg|tree|stat|file|git\s+(?:status|log|diff|show))"
            r"\b[^;&|>`$()]*$",
            "diagnose",
            "",
            ["ls -la", "cat README.md", "grep -rn TODO src", "git status"],
            ["ls; rm -rf /", "cat x > y", "lsof", "git push"],
        ),
    ]
