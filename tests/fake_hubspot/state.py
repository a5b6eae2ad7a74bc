"""The fake account's data and HubSpot's rules over it.

CRM records, their properties, associations, pipelines, owners, forms, the searches over them,
and the conversations inbox.
Every public method takes the one lock, so HTTP threads and a test seeding directly never see a
half-applied write. Methods answer ``(status, json_body)`` or raise :class:`ApiError`; the server
turns either into an HTTP answer. Each resource's endpoints live in a mixin of their own
(`state_*.py`); `common.py` holds what they share.

The rules are deliberately strict where HubSpot is (unknown properties, enumeration options,
pipeline stages, unique emails) and a little stricter where strictness catches client bugs
(property values must be JSON strings).
"""

from __future__ import annotations

import threading

from . import seed
from .common import (
    OBJECT_TYPE_IDS,
)
from .state_access import AccessMixin
from .state_associations import AssociationsMixin
from .state_batch import BatchMixin
from .state_conversations import ConversationsMixin
from .state_marketing import MarketingMixin
from .state_objects import ObjectsMixin
from .state_records import RecordsMixin
from .state_schema import SchemaMixin
from .state_search import SearchMixin


class State(
    AccessMixin,
    RecordsMixin,
    AssociationsMixin,
    ObjectsMixin,
    SearchMixin,
    BatchMixin,
    SchemaMixin,
    MarketingMixin,
    ConversationsMixin,
):
    def __init__(self):
        self.lock = threading.RLock()
        self.base_url = ""
        self.reset()

    def reset(self):
        with self.lock:
            self._next_id = 101
            self._last_created = 0  # creation times move forward, one ms at least
            self.records = {name: {} for name in OBJECT_TYPE_IDS}  # id -> Record, in id order
            self.emails = {}  # lower-cased email -> live contact id
            self.links = {}  # (type, id) -> {to type: {to id: set of association type ids}}
            self.properties = seed.default_properties()
            self.pipelines = {"tickets": seed.ticket_pipelines(), "deals": seed.deal_pipelines()}
            self.owners = seed.owners()
            self.forms = seed.forms()
            self.form_submissions = []
            self.identification_tokens = []
            self._reset_conversations()
            # Seconds a new record stays invisible to search, like HubSpot's lagging index.
            self.search_delay = 0.0
            # HubSpot applies one sort rule and promises no order among equal values: True
            # orders them by a scramble of their IDs (stable from call to call), so a test
            # proves the panel does not count on ID order.
            self.scrambled_ties = False
