"""studio: a Teachable-Machine-style classifier builder on scikit-learn.

The core (everything outside ``studio.ui``) never imports gradio, so the CLI,
the exported scripts and the tests stay fast and headless.
"""

from pathlib import Path

__version__ = "0.1.0"
# The browser files studio serves and exports (its pose script; npm packages ``make`` installs there)
STATIC = Path(__file__).resolve().parent / "static"
