"""Response headers that follow from what the page rendered."""

from django.utils.cache import patch_cache_control

from .services.chat import IDENTIFIED_ATTR


class PrivatePagesMiddleware:
    """A page whose chat widget carries a visitor-identification token belongs to one customer:
    `Cache-Control: private`, so a shared cache (a CDN, a proxy) never hands it to someone else.

    The `{% hubspot_tracking %}` tag marks the request while the page renders; template responses
    are rendered before the response comes back through the middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, IDENTIFIED_ATTR, False):
            patch_cache_control(response, private=True)
        return response
