"""A second implementation of docs/draw-spec.md, written from the spec text, for the tests."""
