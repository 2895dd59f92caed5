"""casedev: the command line inside every sandbox, for agents' shell scripts.

Each subcommand is one host tool call, relayed by the runtime (see cliserver), so the run's
allow/deny list and vault scope apply and the call is recorded as a step of the run:

    casedev vault list [--vault ID]                       -> vault.list
    casedev vault search QUERY [--vault ID] [--object ID] [--top-k N]   -> vault.search
    casedev vault read OBJECT_ID [--page-start N] [--page-end N]        -> vault.read
    casedev vault write VAULT_ID FILENAME < file          -> vault.write
    casedev legal search QUERY [--court C] [--jurisdiction J] [--top-k N]
                                                          -> legal-research.search
    casedev legal citations [--no-resolve] < file         -> legal-research.citations
    casedev memory search QUERY [--vault ID] [--type T] [--limit N]     -> memory.search
    casedev memory write [--vault ID] [--type T] [--source S] [--tag T] < file
                                                          -> memory.write

Plain text by default, `--json` for the tool's JSON. Exit status: 0 done, 1 the call failed
(refused, out of scope, not found), 2 bad arguments, 3 no runtime to talk to.
Standard library only.
"""

from __future__ import annotations

import json
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any

VERSION = "1.0.0"
SOCKET_ENV = "LINC_CLI_SOCKET"
# The host tools the CLI calls, with the command that calls each (also shown in tool listings).
COMMANDS = {
    "vault.list": "casedev vault list [--vault ID] [--json]",
    "vault.search": "casedev vault search QUERY [--vault ID] [--object ID] [--top-k N] [--json]",
    "vault.read": "casedev vault read OBJECT_ID [--page-start N --page-end N] [--json]",
    "vault.write": "casedev vault write VAULT_ID FILENAME < file",
    "legal-research.search": "casedev legal search QUERY [--court C] [--top-k N] [--json]",
    "legal-research.citations": "casedev legal citations [--no-resolve] [--json] < file",
    "memory.search": "casedev memory search QUERY [--vault ID] [--type T] [--limit N] [--json]",
    "memory.write": "casedev memory write [--vault ID] [--type T] [--source S] [--tag T] < file",
}
HOST_TOOLS = frozenset(COMMANDS)
EXIT_FAILED, EXIT_USAGE, EXIT_NO_RUNTIME = 1, 2, 3


class CliError(Exception):
    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


# -- talking to the runtime ----------------------------------------------------------------------


def call(tool: str, args: dict[str, Any]) -> Any:
    """One tool call through the runtime; the tool's result (JSON when it is JSON)."""
    import socket

    path = os.environ.get(SOCKET_ENV)
    if not path:
        raise CliError(
            f"{SOCKET_ENV} is not set: casedev runs inside an agent's sandbox (shell.exec)",
            EXIT_NO_RUNTIME,
        )
    request = json.dumps({"tool": tool, "input": args}, ensure_ascii=True).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            sock.sendall(request)
            data = bytearray()
            while chunk := sock.recv(65536):
                data += chunk
    except OSError as exc:
        raise CliError(f"cannot reach the runtime at {path}: {exc}", EXIT_NO_RUNTIME) from None
    try:
        answer = json.loads(data)
    except ValueError:
        raise CliError("the runtime sent an invalid answer", EXIT_NO_RUNTIME) from None
    content = str(answer.get("content", ""))
    if answer.get("isError"):
        raise CliError(f"{tool}: {content}")
    try:
        return json.loads(content)
    except ValueError:
        return content


# -- commands ------------------------------------------------------------------------------------


def _stdin_text(what: str) -> str:
    if sys.stdin is None or sys.stdin.isatty():
        raise CliError(f"{what} is read from standard input (casedev ... < file)", EXIT_USAGE)
    return sys.stdin.read()


def vault_list(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    return "vault.list", ({"vaultId": ns.vault} if ns.vault else {})


def vault_search(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {"query": ns.query}
    if ns.vault:
        args["vaultIds"] = ns.vault
    if ns.object:
        args["objectIds"] = ns.object
    if ns.top_k is not None:
        args["topK"] = ns.top_k
    return "vault.search", args


def vault_read(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {"objectId": ns.object_id}
    for key, value in (
        ("pageStart", ns.page_start),
        ("pageEnd", ns.page_end),
        ("offset", ns.offset),
        ("limit", ns.limit),
    ):
        if value is not None:
            args[key] = value
    return "vault.read", args


def vault_write(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    content = _stdin_text("the document's content")
    return "vault.write", {"vaultId": ns.vault_id, "filename": ns.filename, "content": content}


def memory_search(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {"query": ns.query}
    if ns.vault:
        args["vaultId"] = ns.vault
    if ns.type:
        args["types"] = ns.type
    if ns.limit is not None:
        args["limit"] = ns.limit
    return "memory.search", args


def memory_write(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {"content": _stdin_text("the memory's content")}
    for key, value in (("vaultId", ns.vault), ("type", ns.type), ("source", ns.source)):
        if value:
            args[key] = value
    if ns.tag:
        args["tags"] = ns.tag
    return "memory.write", args


def legal_search(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    args: dict[str, Any] = {"query": ns.query}
    for key, value in (("court", ns.court), ("jurisdiction", ns.jurisdiction)):
        if value:
            args[key] = value
    if ns.top_k is not None:
        args["topK"] = ns.top_k
    return "legal-research.search", args


def legal_citations(ns: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    text = _stdin_text("the text to check")
    return "legal-research.citations", {"text": text, "resolve": not ns.no_resolve}


# -- plain-text output ---------------------------------------------------------------------------


def _pages(item: dict[str, Any]) -> str:
    start, end = item.get("pageStart"), item.get("pageEnd")
    if start is None:
        return ""
    return f", page {start}" if end in (None, start) else f", pages {start}-{end}"


def show_vault_list(result: dict[str, Any]) -> str:
    lines = []
    for vault in result.get("vaults", []):
        lines.append(f"{vault['id']}  {vault['name']}  ({vault['objectCount']} documents)")
        for obj in vault.get("objects", []):
            pages = f"  {obj['pageCount']} pages" if obj.get("pageCount") else ""
            lines.append(f"  {obj['id']}  {obj['filename']}  {obj['status']}{pages}")
    return "\n".join(lines) if lines else "no vaults in this run's scope"


def show_vault_search(result: dict[str, Any]) -> str:
    lines = []
    for n, hit in enumerate(result.get("results", []), 1):
        where = f"chunk {hit['chunkIndex']}{_pages(hit)}"
        lines.append(f"{n}. {hit['filename']} ({hit['objectId']}), {where}")
        lines.append("   " + " ".join(str(hit.get("text", "")).split()))
    return "\n".join(lines) if lines else f"no passages match {result.get('query')!r}"


def show_vault_read(result: dict[str, Any]) -> str:
    text = str(result.get("text", ""))
    if result.get("nextOffset") is not None:
        text += (
            f"\n[... more: casedev vault read {result['objectId']} --offset {result['nextOffset']}]"
        )
    return text


def show_vault_write(result: dict[str, Any]) -> str:
    return (
        f"created {result['objectId']} in {result['vaultId']}: {result['filename']} "
        f"({result['status']}, {result['chunkCount']} chunks, {result['sizeBytes']} bytes)"
    )


def show_legal_search(result: dict[str, Any]) -> str:
    lines = []
    for n, case in enumerate(result.get("results", []), 1):
        cites = "; ".join(case.get("citations") or [])
        lines.append(f"{n}. {case['caseName']} ({case.get('court')}, {case.get('dateFiled')})")
        if cites:
            lines.append(f"   {cites}")
        if case.get("url"):
            lines.append(f"   {case['url']}")
        if case.get("snippet"):
            lines.append(f"   {case['snippet']}")
    return "\n".join(lines) if lines else f"no opinions match {result.get('query')!r}"


def show_legal_citations(result: dict[str, Any]) -> str:
    lines = []
    for cite in result.get("citations", []):
        found = cite.get("found")
        status = "" if found is None else ("  found" if found else "  NOT FOUND")
        lines.append(f"{cite['normalized']}  [{cite['type']}]{status}")
    summary = result.get("summary", {})
    lines.append(
        f"{summary.get('total', 0)} citations, {summary.get('cases', 0)} cases "
        f"({summary.get('found', 0)} found, {summary.get('notFound', 0)} not found)"
    )
    if result.get("note"):
        lines.append(str(result["note"]))
    return "\n".join(lines)


def show_memory_search(result: dict[str, Any]) -> str:
    lines = [
        f"{n}. [{e['type']}] {e['content']}  ({e['id']}, {e['vaultId']})"
        for n, e in enumerate(result.get("results", []), 1)
    ]
    return "\n".join(lines) if lines else f"no memory matches {result.get('query')!r}"


def show_memory_write(result: dict[str, Any]) -> str:
    return f"remembered {result['id']} in {result['vaultId']} ({result['type']})"


_SHOW = {
    "vault.list": show_vault_list,
    "vault.search": show_vault_search,
    "vault.read": show_vault_read,
    "vault.write": show_vault_write,
    "legal-research.search": show_legal_search,
    "legal-research.citations": show_legal_citations,
    "memory.search": show_memory_search,
    "memory.write": show_memory_write,
}


# -- arguments -----------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    import argparse

    top = argparse.ArgumentParser(
        prog="casedev",
        description="Vault, legal-research and memory tools of this agent run, from the shell. "
        "Every call is checked against the run's tools and vault scope and recorded as a step.",
    )
    top.add_argument("--version", action="version", version=f"casedev {VERSION}")
    groups = top.add_subparsers(dest="group", metavar="{vault,legal,memory}", required=True)

    vault = groups.add_parser("vault", help="documents in this run's vaults").add_subparsers(
        dest="command", required=True
    )
    p = vault.add_parser("list", help="vaults in scope and their documents")
    p.add_argument("--vault", help="only this vault")
    p.set_defaults(build=vault_list)
    p = vault.add_parser("search", help="search passages by question or keywords")
    p.add_argument("query")
    p.add_argument("--vault", action="append", help="only this vault (repeatable)")
    p.add_argument("--object", action="append", help="only this document (repeatable)")
    p.add_argument("--top-k", type=int, help="how many passages (default 5)")
    p.set_defaults(build=vault_search)
    p = vault.add_parser("read", help="a document's text, optionally some pages")
    p.add_argument("object_id")
    p.add_argument("--page-start", type=int)
    p.add_argument("--page-end", type=int)
    p.add_argument("--offset", type=int, help="start at this character")
    p.add_argument("--limit", type=int, help="at most this many characters")
    p.set_defaults(build=vault_read)
    p = vault.add_parser("write", help="save standard input as a new document")
    p.add_argument("vault_id")
    p.add_argument("filename")
    p.set_defaults(build=vault_write)

    legal = groups.add_parser("legal", help="US case law (CourtListener)").add_subparsers(
        dest="command", required=True
    )
    p = legal.add_parser("search", help="search court opinions")
    p.add_argument("query")
    p.add_argument("--court", help="CourtListener court ids, e.g. 'scotus ca9'")
    p.add_argument("--jurisdiction", help="'federal' or a state name")
    p.add_argument("--top-k", type=int)
    p.set_defaults(build=legal_search)
    p = legal.add_parser("citations", help="check the citations in standard input")
    p.add_argument("--no-resolve", action="store_true", help="extract only, no lookup")
    p.set_defaults(build=legal_citations)

    memory = groups.add_parser("memory", help="what this organization's runs noted").add_subparsers(
        dest="command", required=True
    )
    p = memory.add_parser("search", help="search the memory of the vaults in scope")
    p.add_argument("query")
    p.add_argument("--vault", help="only this vault's memory")
    p.add_argument("--type", action="append", help="only entries of this type (repeatable)")
    p.add_argument("--limit", type=int, help="how many entries (default 5)")
    p.set_defaults(build=memory_search)
    p = memory.add_parser("write", help="remember standard input for later runs")
    p.add_argument("--vault", help="the vault to remember it in (needed with several in scope)")
    p.add_argument("--type", help="fact, party, issue, deadline, discovery, correction, ...")
    p.add_argument("--source", help="where it comes from")
    p.add_argument("--tag", action="append", help="a tag (repeatable)")
    p.set_defaults(build=memory_write)

    for sub in (*vault.choices.values(), *legal.choices.values(), *memory.choices.values()):
        sub.add_argument("--json", action="store_true", help="print the tool's JSON result")
    return top


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(sys.argv[1:] if argv is None else argv)  # exits 2 on bad args
    try:
        tool, args = ns.build(ns)
        result = call(tool, args)
    except CliError as exc:
        sys.stderr.write(f"casedev: {exc}\n")
        return exc.status
    if ns.json:
        sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    elif isinstance(result, dict):
        sys.stdout.write(_SHOW[tool](result) + "\n")
    else:
        sys.stdout.write(f"{result}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
