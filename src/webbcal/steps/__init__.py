"""Steps: thin adapters that resolve references, call one algorithm and record provenance."""
