"""What the security-headers middleware costs per request, in-process: an ASGI app that
answers at once, called directly (no server, no network) with and without ``SecurityHeaders``
around it, interleaved in rounds so that both see the same machine noise. Prints the median
per-request time of each and the difference, in microseconds.
"""

import argparse
import asyncio
import statistics
import time

from starlette.types import Receive, Scope, Send

from slo_service.api.security_headers import SecurityHeaders

SCOPE: Scope = {
    "type": "http",
    "method": "GET",
    "path": "/api/v1/gate",
    "headers": [(b"host", b"127.0.0.1:8000")],
}
HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def answer(scope: Scope, receive: Receive, send: Send) -> None:
    """What a route does at the least: start a response and send its body."""
    await send({"type": "http.response.start", "status": 200, "headers": list(HEADERS)})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: dict[str, object]) -> None:
    return None


async def per_request(app: object, requests: int) -> float:
    """Seconds per request of ``app`` over ``requests`` calls."""
    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(SCOPE), _receive, _send)  # type: ignore[operator]
    return (time.perf_counter() - started) / requests


async def run(rounds: int, requests: int) -> None:
    wrapped = SecurityHeaders(answer)
    bare_times, wrapped_times = [], []
    for _ in range(rounds):
        bare_times.append(await per_request(answer, requests))
        wrapped_times.append(await per_request(wrapped, requests))
    bare, headers = statistics.median(bare_times), statistics.median(wrapped_times)
    print(f"{rounds} rounds of {requests:,} requests (median of the rounds)")
    print(f"  bare app:           {bare * 1e6:7.2f} us/request")
    print(f"  with the headers:   {headers * 1e6:7.2f} us/request")
    print(f"  cost of the headers:{(headers - bare) * 1e6:7.2f} us/request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(run(args.rounds, args.requests))


if __name__ == "__main__":
    main()
