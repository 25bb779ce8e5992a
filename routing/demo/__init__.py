"""Demo data: `aduan seed-demo` (routing.demo.seed)."""
