"""Request and response schemas of the API, in families per resource."""
