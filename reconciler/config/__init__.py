"""Config loading (YAML -> mappings that remember file:line:col) and validation."""
