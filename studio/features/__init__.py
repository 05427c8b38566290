"""Features: from a decoded sample to the vector a model reads. ``spec`` holds the typed
FeatureSpec, one module per medium holds its feature kinds, ``registry`` lists them, the
``*_kernel`` modules hold the arithmetic that exports copy, and ``cache`` keeps vectors."""
