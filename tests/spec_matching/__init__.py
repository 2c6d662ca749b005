"""A second implementation of docs/draw-spec-matching.md, written from the spec text, for the tests."""
