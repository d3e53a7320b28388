"""Locust user of benchmarks/lists_vs_admin.py: GETs one page (BENCH_PATH) signed in (the
session cookie in BENCH_SESSION), back to back: a closed loop, as many requests as the
server answers. Run headless by the benchmark, one page and one side at a time."""

import os

from locust import FastHttpUser, constant, task


class PageReader(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.path = os.environ["BENCH_PATH"]
        self.headers = {"Cookie": f"sessionid={os.environ['BENCH_SESSION']}"}

    @task
    def read_page(self):
        with self.client.get(
            self.path, headers=self.headers, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
