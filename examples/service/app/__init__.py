"""Shop API, written so that nothing blocks the event loop."""
