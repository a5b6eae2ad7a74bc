"""`{% email_verification_notice %}`: asks a signed-in customer to confirm their email address."""

from django import template

from ..services import email_verification

register = template.Library()


@register.inclusion_tag("registration/_verify_notice.html", takes_context=True)
def email_verification_notice(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    show = bool(
        user is not None
        and user.is_authenticated
        and user.email
        and not email_verification.is_verified(user)
    )
    return {
        "show": show,
        "email": user.email if show else "",
        "next": request.get_full_path() if show else "",
        "csrf_token": context.get("csrf_token"),
    }
