"""The worker side of the PLS Ops Console: an HTTP client for its API, the `pls` command, the
Claude Code and Codex hooks and an MCP server. No Django: a worker machine installs this
package alone."""

__version__ = "0.1.0"
