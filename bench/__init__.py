"""InterviewAce benchmarks: `uv run python -m bench [scenario ...]`.

The harness starts what it measures (the real server with `interviewace serve --workers 2`, and
for the fan-out scenario a minimal `websockets` server as the ceiling), drives it from a separate
load-generator process (`bench.loadgen`) with real websocket and HTTP clients, stops everything
and writes `bench/results/<scenario>.md` plus a PNG chart. Nothing here is imported by the
server or asserted by the test suite: the numbers are reported, not checked.
"""
