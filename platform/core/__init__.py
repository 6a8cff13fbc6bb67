"""The floor: what every room of the site uses and nothing domain-specific (CONTRIBUTING.md)."""
