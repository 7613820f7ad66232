"""The management API (SPEC §5): thin views over the services and selectors, one module
per resource; tenancy from ``instances.tenancy``. ``api.urls`` registers the viewsets."""
