"""Benchmarks: ``python -m metarl_fast.bench SUITE [--quick] [--json PATH]``.

Each row compares implementations of the same work in one process, interleaved, and reports
medians and ratios. Suites:

    kernels     the policy kernels and estimators against eager torch and torch.func
    operators   the fused operators with and without their cached forward activations
    envs        sampling throughput against the physics replay, gymnasium, EnvPool, mujoco.rollout
    e2e         seconds per meta-iteration against the pure-torch pipeline, and the phase breakdown
                (each phase against its kernel floor, the sampler against the physics replay)
    threads     the torch / pool thread choice per algorithm
    ray         the Ray sampler against the local pool
    parallel    parallel sampling of Python-stepped environments (processes, Ray)
    metaworld   Meta-World's C++ environments against their physics floor, Meta-World's Python
                environments (serial, processes) and EnvPool; --memory: ML45's resident memory
"""
