"""The Fairdraw draw engine (docs/draw-spec.md) and the department-facing service around it."""
