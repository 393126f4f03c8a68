"""The deterministic demo company: reference data plus generated customers, products and documents."""
