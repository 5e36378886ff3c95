"""hosted layer."""
