"""The "HubSpot contacts" pages: the shared CRM pages, plus the offer to edit the contact that
already has an email instead of creating a second one, and the GDPR delete of a contact.

GDPR delete needs `gdpr_delete_contacts` on top of `manage_contacts`: it erases the person in
HubSpot (no restore, unlike archiving) and their account and records here, so the "HubSpot
admins" group holds it and "HubSpot staff" do not (roles.py)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from .. import errors
from ..admin.pages import QUEUED_MESSAGE, admin_page, report_outcome, send, when
from ..admin.threads import REPLY_MAX_LENGTH, thread_context
from ..crm.admin import CrmObjectAdmin
from ..services import conversations, gdpr
from ..tickets import service as tickets
from . import OBJECT_TYPE
from .forms import ContactForm
from .models import HubSpotContact
from .service import service

GDPR_PERMISSION = "hubspot_integration.gdpr_delete_contacts"


@admin.register(HubSpotContact)
class HubSpotContactAdmin(CrmObjectAdmin):
    object_type = OBJECT_TYPE
    service = service
    form_class = ContactForm

    def create(self, request, form):
        result = send(
            request,
            form,
            lambda: service.create_unique(form.properties(drop_blank=True), user=request.user),
            refused=_("HubSpot refused the contact"),
        )
        if result is None:
            return None
        if result.existing is not None:
            # No duplicate: offer the contact that already has this email instead.
            form.extra_context = {"existing": self.row(result.existing)}
            messages.warning(request, _("A contact with this email already exists."))
            return None
        if report_outcome(
            request,
            result.outcome,
            done=_("Contact %(email)s created.") % {"email": form.cleaned_data["email"]},
            link=service.url(result.outcome.operation.hubspot_object_id),
        ):
            return HttpResponseRedirect(self.url("changelist"))
        return None

    def get_urls(self):
        thread = "<str:object_id>/threads/<str:thread_id>/"
        return [
            admin_page(self, "<str:object_id>/gdpr-delete/", self.gdpr_delete_view, "gdpr_delete"),
            admin_page(self, thread + "reply/", self.thread_reply_view, "thread_reply"),
            admin_page(self, thread + "status/", self.thread_status_view, "thread_status"),
            *super().get_urls(),
        ]

    def gdpr_delete_view(self, request, object_id):
        self.check_permission(request)
        if not request.user.has_perm(GDPR_PERMISSION):
            raise PermissionDenied
        try:
            record = self.row(service.get(object_id))
        except errors.NotFound:
            messages.error(request, _("HubSpot has no contact %(id)s.") % {"id": object_id})
            return HttpResponseRedirect(self.url("changelist"))
        except errors.HubSpotError as err:
            # The address names whom to erase: without it there is nothing safe to do.
            messages.error(
                request, _("Could not read the contact from HubSpot: %(error)s") % {"error": err}
            )
            return HttpResponseRedirect(self.url("change", object_id))
        email = str(record.get("email") or "")
        if not email:
            messages.error(request, _("This contact has no email address to erase it by."))
            return HttpResponseRedirect(self.url("change", object_id))
        found = gdpr.inventory(email)
        if found.user is not None and (found.user.is_staff or found.user.is_superuser):
            # Erasing a staff account from here would let a HubSpot admin remove a superuser.
            messages.error(
                request,
                _(
                    "%(email)s belongs to a staff account: delete that account in the user admin "
                    "(a superuser's task), then come back to erase the contact."
                )
                % {"email": email},
            )
            return HttpResponseRedirect(self.url("change", object_id))
        if request.method == "POST" and request.POST.get("post") == "yes":
            erased = gdpr.erase(email, actor=request.user, source="admin")
            report_outcome(
                request,
                erased.outcome,
                done=_("Contact %(email)s deleted in HubSpot; removed here: %(summary)s.")
                % {"email": email, "summary": erased.summary},
            )
            return HttpResponseRedirect(self.url("changelist"))
        return self.render(
            request,
            self.templates("gdpr_delete.html"),
            self.context(
                title=_("GDPR-delete a HubSpot contact"),
                record=record,
                found=found,
                change_url=self.url("change", object_id),
            ),
        )

    # --- the contact's story: its tickets in words, its chat threads ---------------------------
    def detail_context(self, request, found: dict[str, list[dict]]):
        if not found.get("tickets"):
            return None
        try:
            return tickets.pipelines()
        except errors.HubSpotError as err:
            messages.warning(
                request, _("Could not read the ticket pipelines: %(error)s") % {"error": err}
            )
            return None

    def details(self, type_name: str, record: dict, known) -> list[str]:
        if type_name != "tickets":
            return []
        props = record.get("properties") or {}
        stage = tickets.stage_label(
            props.get("hs_pipeline") or "",
            props.get("hs_pipeline_stage") or "",
            known,
        )
        priority = props.get("hs_ticket_priority") or ""
        label = tickets.priority_label(priority)
        out = [
            _("Stage: %(stage)s") % {"stage": stage} if stage else "",
            _("Priority: %(priority)s") % {"priority": label} if label else "",
        ]
        dated = ((_("Created %(at)s"), "createdate"), (_("Modified %(at)s"), "hs_lastmodifieddate"))
        for text, prop in dated:
            if at := when(props.get(prop)):
                out.append(text % {"at": f"{at:%Y-%m-%d %H:%M}"})
        return [part for part in out if part]

    def page_extras(self, request, object_id, record: dict) -> dict:
        return thread_context(request, contact_id=str(object_id))

    def _back(self, object_id, thread_id):
        return HttpResponseRedirect(f"{self.url('change', object_id)}#thread-{thread_id}")

    def _readable_thread(self, request, object_id, thread_id) -> tuple[bool, dict | None]:
        """(go on, the thread as HubSpot has it, or None when it cannot say right now)."""
        try:
            thread = conversations.get_thread(thread_id)
        except errors.NotFound:
            messages.error(request, _("HubSpot has no chat thread %(id)s.") % {"id": thread_id})
            return False, None
        except errors.HubSpotError:
            return True, None  # the outbox tries again when HubSpot answers
        if str(thread.get("associatedContactId") or "") not in ("", str(object_id)):
            messages.error(
                request, _("Chat thread %(id)s is not this contact's.") % {"id": thread_id}
            )
            return False, thread
        return True, thread

    def thread_reply_view(self, request, object_id, thread_id):
        self.check_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        text = (request.POST.get("text") or "").strip()
        if not text or len(text) > REPLY_MAX_LENGTH:
            messages.error(
                request,
                _("Write a reply of 1 to %(max)s characters.")
                % {"max": number_format(REPLY_MAX_LENGTH, force_grouping=True)},
            )
            return self._back(object_id, thread_id)
        go_on, thread = self._readable_thread(request, object_id, thread_id)
        if go_on and thread and thread.get("status") == conversations.CLOSED:
            messages.error(request, _("This thread is closed: reopen it to reply."))
            go_on = False
        if not go_on:
            return self._back(object_id, thread_id)
        try:
            outcome = conversations.reply(thread_id, text, user=request.user)
        except conversations.NoHubSpotUser as err:
            messages.error(request, str(err))
            return self._back(object_id, thread_id)
        except errors.HubSpotError as err:
            messages.error(
                request, _("Could not tell who you are in HubSpot: %(error)s") % {"error": err}
            )
            return self._back(object_id, thread_id)
        if outcome.done:
            messages.success(request, _("Reply sent."))
        elif outcome.queued:
            messages.warning(request, QUEUED_MESSAGE)
        else:
            messages.error(
                request, _("HubSpot refused the reply: %(error)s") % {"error": outcome.error}
            )
        return self._back(object_id, thread_id)

    def thread_status_view(self, request, object_id, thread_id):
        self.check_permission(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        status = request.POST.get("status")
        if status not in (conversations.OPEN, conversations.CLOSED):
            messages.error(request, _("Choose to close or to reopen the thread."))
            return self._back(object_id, thread_id)
        go_on, _thread = self._readable_thread(request, object_id, thread_id)
        if go_on:
            outcome = conversations.set_status(thread_id, status, user=request.user)
            closed = status == conversations.CLOSED
            report_outcome(
                request, outcome, done=_("Thread closed.") if closed else _("Thread reopened.")
            )
        return self._back(object_id, thread_id)
