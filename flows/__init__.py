"""Prefect flows: orchestration only. The work lives in synth/ and training/ (the same
functions the `ocrpipe` commands in dvc.yaml call); DVC's bookkeeping lives in flows/checkout.py,
and training in a worker's own checkout (another machine) in flows/handoff.py.

    render    one split's missing shards, a task per shard (a process pool, or a Dask cluster)
    train     the CRNN, in its own process (or on the `gpu` work pool through a deployment)
    evaluate  the test split and the outside set, in its own process
    pipeline  the DAG of dvc.yaml: only stale stages run; then the gate and the registry;
              it holds the checkout (core/locks.py) for its whole run
"""
