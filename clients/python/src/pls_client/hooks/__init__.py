"""``pls hook claude-code|codex``: answer one hook event read from stdin; and ``pls hook
install claude-code|codex``: print the configuration that wires the agent to it.

Whatever goes wrong, the hook answers and exits 0 or 2: an uncaught exception would exit 1,
which both agents treat as a failed hook and let the tool call run."""

import argparse
import json
import os
import signal
import sys
from types import FrameType
from typing import IO

from pls_client import config
from pls_client.api import PlsApi
from pls_client.errors import PlsError
from pls_client.hooks.agents import (
    AGENTS,
    HANDLERS,
    TOOL_EVENTS,
    Answer,
    Context,
    fail_closed,
    unknown_event,
)
from pls_client.hooks.payload import BadHookInput, read_event, tool_call
from pls_client.i18n import _


def run(args: argparse.Namespace) -> int:
    if args.agent == "install":
        from pls_client.hooks.install import print_configuration

        return print_configuration(args.install_agent, fmt=args.format)
    if args.install_agent:
        print(
            _("pls hook: unexpected argument {arg!r}").format(arg=args.install_agent),
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _terminated)
    return emit(answer(args.agent, sys.stdin.buffer))


def answer(agent_name: str, stream: IO[bytes]) -> Answer:
    agent = AGENTS[agent_name]
    event_name = ""
    try:
        event = read_event(stream)
        event_name = event["hook_event_name"]
        if event_name not in agent.events:
            return unknown_event(agent, event_name)
        call = tool_call(event, agent=agent.key) if event_name in TOOL_EVENTS else None
        cfg = config.load()
        with PlsApi(cfg) as api:
            return HANDLERS[event_name](Context(agent, api, cfg, event, call))
    except (BadHookInput, PlsError) as error:
        return fail_closed(event_name, _("PLS: {error}").format(error=error))
    except Exception as error:  # an unexpected crash must still fail closed
        return fail_closed(
            event_name,
            _(
                "pls hook failed ({kind}: {error}); blocked because the PLS hooks fail closed."
            ).format(kind=type(error).__name__, error=error),
        )


def emit(result: Answer) -> int:
    if result.stdout is not None:
        sys.stdout.write(json.dumps(result.stdout, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if result.stderr:
        print(result.stderr, file=sys.stderr)
    return result.code


def _terminated(signum: int, frame: FrameType | None) -> None:
    # The agent ran out of patience (its hook timeout): say so, and block.
    print(_("pls hook: stopped by the agent before PLS answered; blocked."), file=sys.stderr)
    sys.stderr.flush()
    os._exit(2)
