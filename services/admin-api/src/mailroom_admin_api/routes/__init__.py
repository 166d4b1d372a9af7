"""HTTP routes: parse parameters, call a service, return its body."""
