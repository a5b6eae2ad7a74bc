"""The customer-facing pages (home, support, my tickets, contact, accounts) and the webhook."""

urlpatterns = []
