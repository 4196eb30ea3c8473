"""Ray Serve deployments: the FastAPI ingress, its middleware and the app builders."""
