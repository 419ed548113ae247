"""guardlib: handle secrets in Python without leaking them."""
__version__ = "0.1.0"
