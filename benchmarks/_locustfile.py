"""Locust user of benchmarks/lists_vs_admin.py and load_vs_admin.py: GETs one page
(BENCH_PATH) signed in (the session cookie in BENCH_SESSION). Back to back by default: a
closed loop, as many requests as the server answers; with BENCH_THINK="lo,hi" each user waits
lo..hi seconds (uniform) between its requests, as a person reading the page would, and
first 0..hi seconds, so that the users do not all ask at the same instant. Run headless by
the benchmark, one page and one side at a time."""

import os
import random

import gevent
from locust import FastHttpUser, between, constant, task

THINK = [float(s) for s in os.environ.get("BENCH_THINK", "").split(",") if s.strip()]


class PageReader(FastHttpUser):
    wait_time = between(*THINK) if THINK else constant(0)

    def on_start(self):
        self.path = os.environ["BENCH_PATH"]
        self.headers = {"Cookie": f"sessionid={os.environ['BENCH_SESSION']}"}
        if THINK:
            gevent.sleep(random.uniform(0, THINK[1]))

    @task
    def read_page(self):
        with self.client.get(
            self.path, headers=self.headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
