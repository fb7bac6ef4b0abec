"""Unit tests of the CPython executor (`python3 -m unittest discover -s tests -t .` from
harness/cpython; the Rust suite runs them as `cpython::unittest`)."""
