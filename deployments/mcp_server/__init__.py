"""The MCP endpoint (``/mcp``): the service's tools for LLM agents."""

from deployments.mcp_server.server import MCP_PATH, McpEndpoint

__all__ = ["MCP_PATH", "McpEndpoint"]
