"""Shop API: products, price comparison, users, orders, reports and uploads."""
