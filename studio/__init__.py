"""studio: a Teachable-Machine-style classifier builder on scikit-learn.

The core (everything outside ``studio.ui``) never imports gradio, so the CLI,
the exported scripts and the tests stay fast and headless.
"""

__version__ = "0.1.0"
