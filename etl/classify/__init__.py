"""`crowdaudit classify`: run a Keras image classifier over registered images into the warehouse.

TensorFlow is an optional extra (`crowdaudit[classify]`); only the modules of this package import
it, and only when a classification actually runs, so the rest of the tool installs and starts light.
"""
