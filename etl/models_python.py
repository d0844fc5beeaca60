"""Import every module that registers a PythonModel, so `build` places them in the DAG."""
