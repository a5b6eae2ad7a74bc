"""Query parameters several endpoints share."""


def wants_refresh(request) -> bool:
    """`?refresh=1|true|yes`: skip the cache and ask HubSpot again."""
    return request.query_params.get("refresh", "").lower() in ("1", "true", "yes")
