"""HTTP plumbing shared by every handler: formats, bodies, rendering, routing, errors."""
