"""Messages of the Drafts page (key → (Spanish, English)); merged into
:data:`mailroom_admin_api.console.i18n.MESSAGES`."""

from __future__ import annotations

__all__ = ["MESSAGES"]

MESSAGES: dict[str, tuple[str, str]] = {
    "drafts.title": ("Borradores", "Drafts"),
    "drafts.intro": (
        "Respuestas que esperan a una persona en la carpeta Borradores, las más nuevas "
        "primero. Revise la respuesta junto al correo del cliente, corríjala si hace falta "
        "y envíela, o descártela.",
        "Replies waiting for a person in the Drafts folder, newest first. Read the reply "
        "beside the customer's mail, edit it if needed and send it, or discard it.",
    ),
    "drafts.empty": ("Ningún borrador pendiente.", "No draft is waiting."),
    "drafts.first_n": ("Se muestran los {shown} más nuevos.", "Showing the {shown} newest."),
    "drafts.customer": ("Correo del cliente", "The customer's mail"),
    "drafts.reply": ("Respuesta propuesta", "Proposed reply"),
    "draft_kind.reply": ("Respuesta", "Reply"),
    "draft_kind.handoff_ack": ("Acuse de recibo", "Acknowledgement"),
    "drafts.from": ("De", "From"),
    "drafts.to": ("Para", "To"),
    "drafts.subject": ("Asunto", "Subject"),
    "drafts.route": ("Ruta", "Route"),
    "drafts.created": ("Preparado", "Drafted"),
    "drafts.no_subject": ("(sin asunto)", "(no subject)"),
    "drafts.no_text": (
        "El texto del cliente no está guardado con esta tarea.",
        "The customer's text is not stored with this task.",
    ),
    "drafts.body": ("Texto de la respuesta (puede editarlo)", "Reply text (you may edit it)"),
    "drafts.approve": ("Aprobar y enviar", "Approve and send"),
    "drafts.discard": ("Descartar", "Discard"),
    "drafts.open": ("Abrir la tarea", "Open the task"),
    "drafts.done_approved": (
        "Aprobado: el envío está en curso. Sale de la lista en cuanto se envía.",
        "Approved: it is being sent. It leaves the list once it is sent.",
    ),
    "drafts.done_approved_edited": (
        "Aprobado con su texto: el envío está en curso. Sale de la lista en cuanto se envía.",
        "Approved with your text: it is being sent. It leaves the list once it is sent.",
    ),
    "drafts.done_discarded": (
        "Descartado: no se enviará nada. Sale de la lista en unos segundos.",
        "Discarded: nothing will be sent. It leaves the list in a few seconds.",
    ),
    "drafts.empty_body": (
        "La respuesta no puede quedar vacía (ni contener caracteres nulos, ni superar "
        "20 000 caracteres).",
        "The reply cannot be empty (nor contain null characters, nor exceed 20,000 characters).",
    ),
    "drafts.refused": ("No se pudo: {detail}", "Not done: {detail}"),
    "drafts.kafka": (
        "No se pudo pasar al envío ahora (Kafka no responde). Inténtelo de nuevo.",
        "It could not be handed to the sender now (Kafka does not answer). Try again.",
    ),
}
