"""The console's two languages: the message catalogue, the choice of language, formatting.

Every text a page shows is a key of :data:`MESSAGES` with its Spanish and English form;
templates call ``t("key")`` (``t("key", n=3)`` fills ``{n}``). The language is the
``mailroom_console_lang`` cookie's (set by the switch link) when it names one, else the
best of the browser's ``Accept-Language``, else Spanish, the shop's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from mailroom_admin_api.console.messages_drafts import MESSAGES as DRAFTS_MESSAGES
from mailroom_admin_api.console.messages_mail import MAIL_MESSAGES
from mailroom_admin_api.console.messages_person import MESSAGES as PERSON_MESSAGES

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_COOKIE",
    "MESSAGES",
    "Lang",
    "Translator",
    "negotiate",
]

Lang = Literal["es", "en"]
LANGUAGES: tuple[Lang, ...] = ("es", "en")
DEFAULT_LANGUAGE: Lang = "es"
LANGUAGE_COOKIE = "mailroom_console_lang"

# key → (Spanish, English). Keep keys grouped by page: "nav.", "sign_in.", "today.", ...
MESSAGES: dict[str, tuple[str, str]] = {
    # The frame of every page.
    "app.name": ("mailroom", "mailroom"),
    "app.console": ("Consola", "Console"),
    "app.skip": ("Saltar al contenido", "Skip to content"),
    "app.language": ("Idioma", "Language"),
    "app.switch_to": ("English", "Español"),
    "app.sign_out": ("Cerrar sesión", "Sign out"),
    "app.signed_in_until": ("Sesión válida hasta {until}", "Signed in until {until}"),
    "app.not_built": ("(próximamente)", "(coming soon)"),
    "nav.label": ("Secciones", "Sections"),
    "nav.today": ("Hoy", "Today"),
    "nav.needs_person": ("Para una persona", "Needs a person"),
    "nav.drafts": ("Borradores", "Drafts"),
    "nav.mail": ("Correo", "Mail"),
    "nav.dead_letters": ("Mensajes fallidos", "Dead letters"),
    # Sign-in.
    "sign_in.title": ("Iniciar sesión", "Sign in"),
    "sign_in.intro": (
        "Pegue el token de administración (ADMIN_API_TOKEN) para abrir la consola.",
        "Paste the admin token (ADMIN_API_TOKEN) to open the console.",
    ),
    "sign_in.token": ("Token de administración", "Admin token"),
    "sign_in.submit": ("Entrar", "Sign in"),
    "sign_in.wrong_token": (
        "Ese no es el token de administración.",
        "That is not the admin token.",
    ),
    "sign_in.signed_out": ("Ha cerrado la sesión.", "You have signed out."),
    # Refusals.
    "error.title": ("No se pudo hacer", "That did not work"),
    "error.csrf_title": ("Formulario rechazado", "Form refused"),
    "error.csrf": (
        "El formulario no llevaba un código de seguridad válido (quizá caducó o se envió "
        "desde otra página). Vuelva a la página, recárguela y repita la acción.",
        "The form did not carry a valid security code (it may have expired or come from "
        "another page). Go back, reload the page and try again.",
    ),
    "error.form_title": ("Formulario no válido", "Invalid form"),
    "error.form": (
        "El formulario no se pudo leer.",
        "The form could not be read.",
    ),
    "error.back": ("Volver a la consola", "Back to the console"),
    "error.sign_in_again": ("Iniciar sesión otra vez", "Sign in again"),
    # Today.
    "today.title": ("Hoy", "Today"),
    "today.window": ("Últimas 24 horas, hasta {until}", "Last 24 hours, up to {until}"),
    "today.summary": ("Resumen", "Summary"),
    "today.tasks": ("Correos", "Emails"),
    "today.automation_rate": ("Respondidos sin persona", "Answered without a person"),
    "today.first_response": ("Primera respuesta", "First response"),
    "today.p50": ("p50 {v}", "p50 {v}"),
    "today.p90": ("p90 {v}", "p90 {v}"),
    "today.waiting": ("Esperan a una persona", "Waiting for a person"),
    "today.oldest": ("la más antigua espera {age}", "the oldest has waited {age}"),
    "today.dead_letters": ("Mensajes fallidos sin resolver", "Dead letters open"),
    "today.llm_cost": ("Coste del LLM hoy (UTC)", "LLM cost today (UTC)"),
    "today.llm_requests": ("llamadas: {n}", "calls: {n}"),
    "today.none": ("ninguno", "none"),
    "today.by_route": ("Por ruta", "By route"),
    "today.by_status": ("Por resultado", "By outcome"),
    "today.route": ("Ruta", "Route"),
    "today.status": ("Resultado", "Outcome"),
    "today.count": ("Correos", "Emails"),
    "today.empty": ("Ningún correo en la ventana.", "No email in the window."),
    "today.chart": ("Últimos 14 días", "Last 14 days"),
    "today.chart_desc": (
        "Correos por día (UTC): respondidos sin persona y el resto.",
        "Emails per day (UTC): answered without a person, and the rest.",
    ),
    "today.automated": ("Sin persona", "Automated"),
    "today.other": ("Resto", "Other"),
    "today.day": ("Día", "Day"),
    "today.as_table": ("Ver como tabla", "Show as a table"),
    # The LLM provider (live).
    "provider.title": ("Proveedor LLM", "LLM provider"),
    "provider.none": (
        "Ningún estado recibido todavía del responder.",
        "No state received from the responder yet.",
    ),
    "provider.catching_up": (
        "Leyendo el estado del proveedor…",
        "Reading the provider's state…",
    ),
    "provider.breaker": ("Disyuntor", "Breaker"),
    "provider.closed": ("cerrado (funciona)", "closed (working)"),
    "provider.open": ("abierto (en pausa)", "open (paused)"),
    "provider.half_open": ("semiabierto (probando)", "half open (testing)"),
    "provider.open_until": ("hasta {at}", "until {at}"),
    "provider.failures": ("Fallos seguidos", "Consecutive failures"),
    "provider.limiter": ("Limitador", "Limiter"),
    "provider.requests": (
        "{used} de {limit} peticiones en la ventana",
        "{used} of {limit} requests in the window",
    ),
    "provider.next_free": ("próxima libre {at}", "next free {at}"),
    "provider.updated": ("Actualizado {at}", "Updated {at}"),
    # Values shown as labels (t.label("route", value); an unknown value shows as it is).
    "route.faq": ("Preguntas frecuentes", "FAQ"),
    "route.catalogue": ("Catálogo", "Catalogue"),
    "route.llm": ("LLM", "LLM"),
    "route.handoff": ("A una persona", "To a person"),
    "route.ignored": ("Ignorado", "Ignored"),
    "route.transactional": ("Transaccional", "Transactional"),
    "route.none": ("Sin decidir", "Not decided"),
    "status.received": ("Recibido", "Received"),
    "status.processing": ("En proceso", "Processing"),
    "status.retrying": ("Reintentando", "Retrying"),
    "status.replied": ("Respondido", "Replied"),
    "status.sent": ("Enviado", "Sent"),
    "status.ignored": ("Ignorado", "Ignored"),
    "status.handoff": ("Para una persona", "Handed to a person"),
    "status.human_owned": ("Hilo de una persona", "Thread a person owns"),
    "status.rejected": ("Rechazado", "Rejected"),
    "status.dead_letter": ("Fallido", "Dead letter"),
    "status.send_failed": ("Envío fallido", "Send failed"),
    "status.uncertain": ("Envío incierto", "Send uncertain"),
    "status.drafted": ("Borrador", "Drafted"),
    "status.shadowed": ("Sombra (no enviado)", "Shadow (not sent)"),
    "status.discarded": ("Descartado", "Discarded"),
}
MESSAGES.update(MAIL_MESSAGES)  # the Mail and Dead letters pages
MESSAGES.update(PERSON_MESSAGES)  # Needs a person
MESSAGES.update(DRAFTS_MESSAGES)  # Drafts


@dataclass(frozen=True, slots=True)
class Translator:
    """Messages and number formats of one language; templates get it as ``t``."""

    lang: Lang

    def __call__(self, key: str, **params: object) -> str:
        es, en = MESSAGES[key]  # a missing key is a bug: the unit tests render every page
        text = es if self.lang == "es" else en
        return text.format(**params) if params else text

    def label(self, kind: str, value: str) -> str:
        """The translated label of a route or status value, or the value itself."""
        key = f"{kind}.{value}"
        return self(key) if key in MESSAGES else value

    @property
    def other(self) -> Lang:
        return "en" if self.lang == "es" else "es"

    def number(self, value: float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        if self.lang == "es":
            text = text.replace(",", "\u2009").replace(".", ",")
        return text

    def percent(self, share: float | None) -> str:
        if share is None:
            return "—"
        text = self.number(share * 100, 1)
        return f"{text} %" if self.lang == "es" else f"{text}%"

    def money(self, usd: float) -> str:
        # Cents; below a dollar up to four decimals, so a quiet day's small sums show.
        decimals = 2
        if 0 < usd < 1:
            digits = f"{usd:.4f}".rstrip("0")
            decimals = max(2, len(digits.split(".", 1)[1]))
        text = self.number(usd, decimals)
        return f"{text} US$" if self.lang == "es" else f"US${text}"

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        s = max(0, round(seconds))
        if s < 60:
            return f"{s} s"
        if s < 3600:
            return f"{s // 60} min"
        if s < 86400:
            h, m = divmod(s // 60, 60)
            return f"{h} h {m} min" if m else f"{h} h"
        d, h = divmod(s // 3600, 24)
        return f"{d} d {h} h" if h else f"{d} d"

    def when(self, at: datetime | None) -> str:
        """A UTC time as ``2026-12-03 12:30 UTC`` (the same in both languages)."""
        if at is None:
            return "—"
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def when_epoch(self, seconds: float) -> str:
        return self.when(datetime.fromtimestamp(seconds, UTC))


def _valid(code: str | None) -> Lang | None:
    for lang in LANGUAGES:
        if code == lang:
            return lang
    return None


def negotiate(accept_language: str | None, cookie: str | None) -> Lang:
    """The cookie's language, else the browser's preferred one we have, else Spanish."""
    chosen = _valid(cookie)
    if chosen is not None:
        return chosen
    ranked: list[tuple[float, int, Lang]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        lang = _valid(tag.strip().split("-", 1)[0].lower())
        if lang is None:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            ranked.append((-q, position, lang))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
