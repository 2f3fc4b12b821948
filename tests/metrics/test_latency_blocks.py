"""The latency interval over torch.utils.benchmark's timing blocks (the complexity claim's)."""

from __future__ import annotations

import time

from semdistill.metrics.complexity import latency_blocks_ms


def test_the_block_interval_brackets_a_known_sleep():
    t = latency_blocks_ms(lambda: time.sleep(0.002), threads=1, min_run_time=0.5)
    assert t["blocks"] >= 2  # 0.5 s of 2 ms calls: several blocks
    assert 2.0 <= t["median"] < 20.0 and t["low"] <= t["high"]
    assert t["high"] >= 2.0  # the mean per call is never below the sleep
