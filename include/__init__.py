"""Code shared by the DAGs of this package: the Pinterest domain, the schema and the seed data."""
