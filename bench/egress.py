"""What the egress policy costs a delivery: N webhook posts to a receiver on loopback through
the pinned transport (resolve, check every address, connect to the checked one) next to the
same posts through a plain httpx client (PagerDuty's, trusted), in one run: p50, p99 and
posts/s of each, by host spelling (an IP literal, and ``localhost`` through /etc/hosts). The
receiver closes every connection (HTTP/1.0), so each post pays a lookup and a connect: the
worst case for the check. Also the save-time check of a route's URL, alone.

    .venv/bin/python -m bench.egress --posts 2000
"""

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial

from slo_service.notify.egress import PUBLIC_ONLY, EgressPolicy
from slo_service.notify.pagerduty import PagerDutyNotifier
from slo_service.notify.pinned import destination_problem
from slo_service.notify.webhook import WebhookNotifier
from tests.notify.test_payloads import ROUTING_KEY, alert
from tests.support.receivers import Receiver

LOOPBACK = EgressPolicy.allowing(["127.0.0.0/8"])


def timed(count: int, action: Callable[[], object]) -> list[float]:
    action()  # warm up (imports, the SSL context, the first connection)
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def line(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    rate = len(ms) / (sum(ms) / 1000)
    return f"{name:<44} p50 {statistics.median(ms):7.3f} ms  p99 {p99:7.3f} ms  {rate:8.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000, help="posts per variant")
    args = parser.parse_args()
    message = alert()
    with Receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        pinned = WebhookNotifier(timeout=5.0, egress=LOOPBACK)
        trusted = PagerDutyNotifier(base_url=receiver.url, timeout=5.0)
        key = {"routing_key": ROUTING_KEY}
        print(f"{args.posts} posts each, one connection per post (the receiver closes it)")
        for host in ("127.0.0.1", "localhost"):
            config = {"url": f"http://{host}:{port}/hook"}
            trusted.base_url = f"http://{host}:{port}"
            plain = timed(args.posts, partial(trusted.send, message, key, idempotency_key="k"))
            checked = timed(args.posts, partial(pinned.send, message, config, idempotency_key="k"))
            print(line(f"plain httpx (trusted), {host}", plain))
            print(line(f"pinned, checked, {host}", checked))
            overhead = statistics.median(checked) - statistics.median(plain)
            print(f"{'':<44} median overhead {overhead * 1000:+.3f} ms per post")
        pinned.close()
        trusted.close()
    for url in ("https://127.0.0.1/h", "https://localhost/h", "https://8.8.8.8/h"):
        # 8.8.8.8 is only parsed and judged: nothing is sent anywhere.
        policy = LOOPBACK if "8.8.8.8" not in url else PUBLIC_ONLY
        seconds = timed(args.posts, partial(destination_problem, url, policy))
        print(line(f"save-time check of {url}", seconds))


if __name__ == "__main__":
    main()
