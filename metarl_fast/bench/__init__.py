"""Benchmarks: ``python -m metarl_fast.bench SUITE [--quick] [--json PATH]``.

Each row compares implementations of the same work in one process, interleaved, and reports
medians and ratios. Suites: ``kernels`` (policy kernels vs eager torch and torch.func).
"""
