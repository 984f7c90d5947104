"""Planning layer of simsop: demand review, supply review and S&OP decision logic."""
