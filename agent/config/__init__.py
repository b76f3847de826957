"""Configuration: one YAML file (plus the rule and customer files it names), validated once."""
