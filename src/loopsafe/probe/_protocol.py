"""What the probe and the server it starts agree on."""

from __future__ import annotations

# Answered by the server's outermost layer, before the app: the fixed cost of one request.
PING_PATH = "/_loopsafe_probe/ping"
# The child's exit code when the app could not be imported or started (the reason is on the pipe).
EXIT_CANNOT_START = 3
