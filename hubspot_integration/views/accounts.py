"""Sign-up; sign-in and sign-out are Django's own views (see public_urls.py)."""

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import abuse
from .forms import SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm()
    if request.method == "POST":
        form = SignupForm(request.POST)
        refusal = abuse.refusal(request, "signup")
        if refusal:
            messages.error(request, refusal)
        elif form.is_valid():
            user = form.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Your account is ready.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})
