"""One module per step of dvc.yaml: render, train, evaluate, gate, and register after it.
`ocrpipe` (dvc.yaml's commands) and the Prefect flows call the same functions here."""
