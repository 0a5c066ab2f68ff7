"""The load generator: a separate process (`python -m bench.loadgen`) that plays the clients.

It reads one job from stdin, drives the server with real websocket (`websockets`) and HTTP
(`httpx`, `wrk`) clients, stops at checkpoints where the harness measures or seeds something,
and prints its result as the last line of stdout (see `control.py`).
"""
