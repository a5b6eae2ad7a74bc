"""The customer-facing pages: home, support, my tickets, contact, accounts."""
