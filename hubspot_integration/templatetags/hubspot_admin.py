"""Tags for the app's admin pages (the customer side's are in hubspot.py)."""

from django import template

register = template.Library()


@register.inclusion_tag("admin/hubspot_integration/_connection_banner.html", takes_context=True)
def connection_banner(context):
    """The connection watch's banner for the user viewing the page, or nothing."""
    from ..services import connection_watch

    request = context.get("request")
    return {"banner": connection_watch.banner(getattr(request, "user", None))}
