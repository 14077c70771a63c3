"""Protocol clients the suite speaks: HTTP, server-sent events, Hive's event stream, MCP."""
