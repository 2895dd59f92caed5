"""Schemas of the sandbox-local tools (the host's tool registry imports LOCAL_TOOLS from here).

Implementations live in ``agentexec.linc.local``; this module is data only so the host can
import it cheaply.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SHELL_EXEC = "shell.exec"
FILES_READ = "files.read"
FILES_WRITE = "files.write"
FILES_LIST = "files.list"

_PATH_DOC = "Path relative to the workspace (absolute paths must stay inside the workspace)."

LOCAL_TOOLS: list[dict[str, Any]] = [
    {
        "name": SHELL_EXEC,
        "description": (
            "Run a shell command (/bin/sh -c) in the sandbox with the workspace as working "
            "directory. Returns JSON {exitCode, stdout, stderr, timedOut}; output is capped. "
            "The sandbox has no network access. The command's process group is killed on "
            "timeout; background jobs that keep stdout/stderr open are killed when it exits. "
            "The `casedev` CLI is on PATH for the run's host tools (casedev vault list|search|"
            "read|write, casedev legal search|citations; --json for JSON; casedev --help)."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "command": {"type": "string", "description": "The shell command to run."},
                "timeoutSeconds": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Timeout in seconds (default and maximum set by the run).",
                },
            },
            "required": ["command"],
            "additionalProperties": False,
        },
    },
    {
        "name": FILES_READ,
        "description": "Read a text file from the workspace (capped; the cap is marked).",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": _PATH_DOC}},
            "required": ["path"],
            "additionalProperties": False,
        },
    },
    {
        "name": FILES_WRITE,
        "description": (
            "Write a text file in the workspace (UTF-8), creating parent directories. "
            "Replaces an existing file. Returns the number of bytes written."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": _PATH_DOC},
                "content": {"type": "string", "description": "The full file content."},
            },
            "required": ["path", "content"],
            "additionalProperties": False,
        },
    },
    {
        "name": FILES_LIST,
        "description": "List a workspace directory: entries with name, type and size.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": _PATH_DOC, "default": "."}},
            "additionalProperties": False,
        },
    },
]

LOCAL_TOOL_NAMES = frozenset(t["name"] for t in LOCAL_TOOLS)
