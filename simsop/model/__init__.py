"""The SimPy world: sites, orders, records and the plan board."""
