"""A Starlette app sharing one httpx.AsyncClient, built from the Starlette and httpx docs."""
