"""Import every module that registers a PythonModel, so `build` places them in the DAG."""

import etl.truth.model  # noqa: F401  (Dawid-Skene, issue 3)
